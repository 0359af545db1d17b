"""Attacks, one registry: `create_attack(name, threat, options)`; `available_attacks()` lists the names.

Adding an attack = one module with a `@register_attack` class + one line below.
"""

from awbench.attacks import adaptive, autoattack, clean, cw, cw_l2, fgsm, pgd  # noqa: F401  (registers them)
from awbench.attacks.base import (
    Attack,
    AttackOptions,
    AttackOutput,
    attack_class,
    available_attacks,
    create_attack,
    register_attack,
)

__all__ = [
    "Attack", "AttackOptions", "AttackOutput", "attack_class", "available_attacks", "create_attack",
    "register_attack",
]

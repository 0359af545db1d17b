"""Attacks, one registry: `create_attack(name, threat, options)`; `available_attacks()` lists the names.

Adding an attack = one module with a `@register_attack` class (and its options dataclass) + one line below.
"""

from awbench.attacks import adaptive, autoattack, clean, cw, cw_l2, fgsm, pgd  # noqa: F401  (registers them)
from awbench.attacks.base import (
    Attack,
    AttackOutput,
    NoOptions,
    attack_class,
    available_attacks,
    build_attacks,
    check_settings,
    create_attack,
    dynamic_model_attacks,
    option_names,
    options_for,
    register_attack,
)

__all__ = [
    "Attack", "AttackOutput", "NoOptions", "attack_class", "available_attacks", "build_attacks", "check_settings",
    "create_attack", "dynamic_model_attacks", "option_names", "options_for", "register_attack",
]

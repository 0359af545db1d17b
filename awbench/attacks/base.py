"""What an attack is, its options, and the one registry of attacks.

An attack gets a batch of images it may perturb (floats in [0, 1] on the model's device) with their labels
and returns adversarial examples of the same shape; the evaluation judges them itself (it re-predicts every
example and checks its budget), so an attack's own bookkeeping is never trusted. Adding an attack = one
module with a `@register_attack("name", cost=...)` class + one line in `awbench/attacks/__init__.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import torch
from torch import nn

from awbench.errors import AwbenchError, UnknownNameError
from awbench.threat import ThreatModel

AA_VERSIONS = ("standard", "plus", "rand", "custom")


@dataclass
class AttackOptions:
    """Knobs shared by the attacks; each attack reads the ones it needs (the rest are ignored)."""

    steps: int = 20  # pgd, cw, adaptive: gradient steps per restart
    step_size: float | None = None  # pgd, cw, adaptive: None = max(eps/4, 2.5*eps/steps)
    restarts: int = 1  # pgd, cw, adaptive
    random_start: bool = True  # pgd, cw, adaptive
    early_stop: bool = True  # pgd, cw, adaptive: a sample stops at its first fooling iterate (never weaker)
    version: str = "standard"  # autoattack: standard | plus | rand | custom (custom needs aa_attacks)
    aa_attacks: list[str] | None = None  # autoattack version='custom': e.g. ['apgd-ce', 'apgd-t']
    aa_iterations: int | None = None  # autoattack: override APGD/FAB iterations (cheap smoke runs)
    aa_chunk_size: int | None = None  # autoattack: examples per resumable chunk (default 4 batches)
    beta: float = 1.0  # adaptive: weight of the router hinge (awbench.attacks.regime)
    cw_l2_steps: int = 100  # cw-l2: Adam steps per binary-search step
    cw_l2_binary_search_steps: int = 5  # cw-l2
    cw_l2_stepsize: float = 0.01  # cw-l2: Adam learning rate

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> AttackOptions:
        names = [f.name for f in fields(cls)]
        for key in kwargs:
            if key not in names:
                raise UnknownNameError("attack option", key, names)
        options = cls(**{k: v for k, v in kwargs.items() if v is not None})
        options.validate()
        return options

    def validate(self) -> None:
        for name in ("steps", "restarts", "cw_l2_steps", "cw_l2_binary_search_steps"):
            if int(getattr(self, name)) < 1:
                raise AwbenchError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.step_size is not None and not 0 < float(self.step_size) <= 1:
            raise AwbenchError(f"--step-size must lie in (0, 1], got {self.step_size}")
        if self.version not in AA_VERSIONS:
            raise UnknownNameError("AutoAttack version", self.version, AA_VERSIONS)
        if self.version == "custom" and not self.aa_attacks:
            raise AwbenchError("AutoAttack version 'custom' needs aa_attacks, e.g. ['apgd-ce']")
        if self.aa_chunk_size is not None and self.aa_chunk_size < 1:
            raise AwbenchError(f"aa_chunk_size must be at least 1, got {self.aa_chunk_size}")
        if self.beta < 0:
            raise AwbenchError(f"--beta must not be negative, got {self.beta}")

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class AttackOutput:
    """Adversarial examples for a batch, plus optional per-sample numbers and the attack's own warnings."""

    x_adv: torch.Tensor
    extras: dict[str, torch.Tensor] = field(default_factory=dict)  # name -> [N] floats, summarised later
    flags: list[str] = field(default_factory=list)


class Attack:
    """Base class. Subclasses implement `perturb` (or `run` when they return extras or flags)."""

    name: ClassVar[str] = "attack"
    cost: ClassVar[int] = 0  # rough relative cost: --cascade runs cheap attacks first

    def __init__(self, threat: ThreatModel, options: AttackOptions, *, batch_size: int, seed: int):
        self.threat, self.options, self.batch_size, self.seed = threat, options, batch_size, seed
        self.validate()

    def validate(self) -> None:
        """Refuse a threat model or options the attack cannot honour (AwbenchError)."""

    def check_model(self, model: nn.Module) -> None:
        """Refuse a model the attack cannot attack (AwbenchError)."""

    def unit_size(self, batch_size: int) -> int:
        """Examples handed to one `run` call (one resumable unit of work)."""
        return batch_size

    def run(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> AttackOutput:
        return AttackOutput(self.perturb(model, x, y))

    def perturb(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def summarize(self, extras: dict[str, torch.Tensor], n_examples: int) -> dict[str, Any]:
        """Attack-specific numbers for the summary from the per-sample extras of attacked samples."""
        del extras, n_examples
        return {}

    def describe(self) -> dict[str, Any]:
        """The settings that define this attack's number (written into the summary)."""
        return {}


_ATTACKS: dict[str, type[Attack]] = {}


def register_attack(name: str, *, cost: int) -> Callable[[type[Attack]], type[Attack]]:
    """Class decorator: register an Attack subclass under `name`."""

    def decorator(cls: type[Attack]) -> type[Attack]:
        if name in _ATTACKS:
            raise ValueError(f"attack '{name}' registered twice")
        cls.name, cls.cost = name, cost
        _ATTACKS[name] = cls
        return cls

    return decorator


def available_attacks() -> list[str]:
    """Names of all registered attacks, sorted."""
    return sorted(_ATTACKS)


def attack_class(name: str) -> type[Attack]:
    if name not in _ATTACKS:
        raise UnknownNameError("attack", name, available_attacks())
    return _ATTACKS[name]


def create_attack(name: str, threat: ThreatModel, options: AttackOptions | None = None, *,
                  batch_size: int = 256, seed: int = 0) -> Attack:
    """The attack `name` for this threat model (options default to AttackOptions())."""
    return attack_class(name)(threat, options or AttackOptions(), batch_size=batch_size, seed=seed)

"""What an attack is, how it owns its options, and the one registry of attacks.

An attack gets a batch of images it may perturb (floats in [0, 1] on the model's device) with their labels
and returns adversarial examples of the same shape; the evaluation judges them itself (it re-predicts every
example and checks its budget), so an attack's own bookkeeping is never trusted.

Each attack owns its knobs: a dataclass named in its class attribute `Options` (validated when built, shown
in `describe()`). What the evaluation treats specially is a class attribute, never a name switch:
`added_for_dynamic_models`, `needs_router`, `flags_label`, `stronger_than`, `unit_size`. Adding an attack =
one module with a `@register_attack("name", cost=...)` class (and its options dataclass) + one line in
`awbench/attacks/__init__.py`; its option fields become keywords of `evaluate_checkpoint` and values of
`awbench eval --attack-option FIELD=VALUE`.
"""

from __future__ import annotations

import numbers
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

import torch
from torch import nn

from awbench.errors import AwbenchError, UnknownNameError
from awbench.threat import ThreatModel


@dataclass(frozen=True)
class NoOptions:
    """The options of an attack that has none."""

    def validate(self) -> None:
        """Refuse a value the attack cannot honour (AwbenchError)."""


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
    Options: ClassVar[type] = NoOptions  # a dataclass with defaults and validate()
    added_for_dynamic_models: ClassVar[bool] = False  # a model with a router always meets it (unless opted out)
    needs_router: ClassVar[bool] = False  # attacks the router itself: left out on a network with pinned signals
    flags_label: ClassVar[str | None] = None  # its run reports warnings worth a `<name>_flags` check
    stronger_than: ClassVar[tuple[str, ...]] = ()  # attacks it must never leave more survivors than

    def __init__(self, threat: ThreatModel, options: Any = None, *, batch_size: int = 256, seed: int = 0):
        self.threat, self.batch_size, self.seed = threat, batch_size, seed
        self.options = self.Options() if options is None else options
        if not isinstance(self.options, self.Options):
            raise TypeError(f"{self.name} takes {self.Options.__name__}, got {type(self.options).__name__}")
        self.options.validate()
        self.validate()

    def validate(self) -> None:
        """Refuse a threat model the attack cannot honour (AwbenchError)."""

    def check_model(self, model: nn.Module) -> None:
        """Refuse a model the attack cannot attack (AwbenchError)."""

    def unit_size(self, batch_size: int) -> int:
        """Examples handed to one `run` call (one resumable unit of work)."""
        return batch_size

    @property
    def reduced(self) -> str | None:
        """How this is a cheaper variant than the attack's standard form (then it may be weaker than the
        attacks in `stronger_than`); None for the standard form."""
        return None

    def run(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> AttackOutput:
        return AttackOutput(self.perturb(model, x, y))

    def perturb(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def summarize(self, extras: dict[str, torch.Tensor], n_examples: int) -> dict[str, Any]:
        """Attack-specific numbers for the summary from the per-sample extras of attacked samples."""
        del extras, n_examples
        return {}

    def describe(self) -> dict[str, Any]:
        """The settings that define this attack's number (written into the summary): by default its options."""
        return asdict(self.options)

    def label(self) -> str:
        """A few words for the evaluation plan, e.g. 'pgd (20 steps)'."""
        return self.name


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


def dynamic_model_attacks() -> list[str]:
    """The attacks every model with a router meets, strongest (most costly) first."""
    return [cls.name for cls in sorted(_ATTACKS.values(), key=lambda cls: -cls.cost) if cls.added_for_dynamic_models]


def attack_class(name: str) -> type[Attack]:
    if name not in _ATTACKS:
        raise UnknownNameError("attack", name, available_attacks())
    return _ATTACKS[name]


def option_names() -> list[str]:
    """Every option field of every registered attack (the keywords `evaluate_checkpoint` accepts)."""
    return sorted({item.name for cls in _ATTACKS.values() for item in fields(cls.Options)})


def check_settings(settings: Mapping[str, Any]) -> None:
    """Refuse a setting that no registered attack has as an option (UnknownNameError)."""
    known = option_names()
    for key in settings:
        if key not in known:
            raise UnknownNameError("attack option", key, known)


def _fits(value: Any, hint: Any) -> bool:
    """Whether `value` has the type an options field declares (numbers by kind; list elements unchecked)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return any(_fits(value, arg) for arg in typing.get_args(hint))
    if isinstance(value, bool) or hint is bool:
        return isinstance(value, bool) and hint is bool
    kinds = {int: numbers.Integral, float: numbers.Real, type(None): type(None), list: (list, tuple)}
    return hint is Any or isinstance(value, kinds.get(typing.get_origin(hint) or hint, hint))


def options_for(name: str, settings: Mapping[str, Any]) -> Any:
    """Attack `name`'s options from flat `settings` (the fields it has; None = its default), validated."""
    options_class = attack_class(name).Options
    hints = typing.get_type_hints(options_class)
    given = {item.name: settings[item.name] for item in fields(options_class) if settings.get(item.name) is not None}
    for key, value in given.items():
        if not _fits(value, hints[key]):
            expected = getattr(hints[key], "__name__", str(hints[key]))
            raise AwbenchError(f"attack option {key} = {value!r} is not of type {expected}")
    options = options_class(**given)
    options.validate()
    return options


def create_attack(name: str, threat: ThreatModel, options: Any = None, *, batch_size: int = 256,
                  seed: int = 0) -> Attack:
    """The attack `name` for this threat model; `options`: its Options dataclass, or a mapping of settings."""
    if isinstance(options, Mapping):
        check_settings(options)
        options = options_for(name, options)
    return attack_class(name)(threat, options, batch_size=batch_size, seed=seed)


def build_attacks(names: list[str], threat: ThreatModel, settings: Mapping[str, Any] | None = None, *,
                  batch_size: int = 256, seed: int = 0) -> list[Attack]:
    """Attack objects for `names` (duplicates dropped), each taking its own options from `settings`."""
    settings = dict(settings or {})
    check_settings(settings)
    return [create_attack(name, threat, settings, batch_size=batch_size, seed=seed) for name in dict.fromkeys(names)]


def require_positive(name: str, value: Any) -> None:
    """An integer option that must be at least 1 (its CLI flag named in the message)."""
    if int(value) < 1:
        raise AwbenchError(f"--{name.replace('_', '-')} must be at least 1, got {value}")

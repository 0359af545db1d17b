"""The one configuration of a training run, saved as the run folder's config.json."""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field, fields
from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints

from awbench.errors import AwbenchError, UnknownNameError
from awbench.training.method_names import METHODS

SCHEDULES = ("piecewise", "cosine", "constant")  # piecewise: x0.1 at 50% and 75% of the epochs


def check_run_name(name: Any) -> str:
    """`name` if it is one plain folder name (a run lives in `--out/<name>`, never beside or above it)."""
    text = name if isinstance(name, str) else ""
    separators = {"/", "\\", os.sep, *([os.altsep] if os.altsep else [])}
    if (not text.strip() or text in (".", "..") or any(sep in text for sep in separators)
            or any(ord(char) < 32 for char in text)):
        raise AwbenchError(f"--name {name!r} is not a plain folder name (no '/', '\\', '.' or '..'); the run is "
                           "written to --out/NAME")
    return text


@dataclass
class TrainConfig:
    dataset: str = "cifar10"
    model: str = "small-cnn"
    method: str = "pgd-at"
    epochs: int = 10
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "piecewise"  # piecewise (x0.1 at 50% and 75% of epochs) | cosine | constant
    norm: str = "Linf"
    eps: float = 8 / 255
    step_size: float = 2 / 255
    steps: int = 10
    beta: float = 6.0  # TRADES / MART regulariser weight
    router_weight: float = 1.0  # AW-Net: lambda of the router's detection BCE
    clean_teacher: str | None = None  # AW-Net: checkpoint of a standard-trained teacher (MTARD)
    robust_teacher: str | None = None  # AW-Net: checkpoint of an adversarially trained teacher (MTARD)
    temperature_balance: bool = False  # AW-Net with teachers: B-MTARD's entropy-based teacher temperatures
    router_evasion: float = 0.0  # AW-Net: share of adversarial examples made by router-evading attacks, in [0, 1]
    model_options: dict[str, Any] = field(default_factory=dict)  # the architecture's own (AW-Net: router, rank)
    subset: int | None = None  # class-balanced training subset size
    val_size: int = 500  # held-out training images for best.pt (by PGD accuracy); 0 disables
    augment: bool = True
    data_dir: str | None = None
    download: bool = False
    out: str = "runs"
    name: str | None = None
    seed: int = 0
    device: str = "auto"
    amp: bool = True  # bf16 autocast, CUDA only
    channels_last: bool = True  # CUDA only
    compile: bool | str = False  # torch.compile: True = inductor, or a backend name ("aot_eager", ...)
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> TrainConfig:
        """Check names and ranges before any data is loaded; raise AwbenchError with a one-line reason."""
        import model_zoo
        from awbench.data import DatasetName, check_data_dir
        from awbench.threat import Norm, parse_eps

        if self.name is not None:
            check_run_name(self.name)
        DatasetName.parse(self.dataset)
        check_data_dir(self.data_dir, download=self.download)
        if self.model not in model_zoo.available():
            raise UnknownNameError("model", self.model, model_zoo.available())
        self.model_options = model_zoo.resolved_options(self.model, self.model_options)
        if self.method not in METHODS:
            raise UnknownNameError("training method", self.method, METHODS)
        Norm.parse(self.norm)
        self.eps = parse_eps(self.eps)
        self.step_size = parse_eps(self.step_size, name="step-size")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise AwbenchError(f"--{name.replace('_', '-')} must be at least 1")
        for name in ("steps", "val_size"):
            if getattr(self, name) < 0:
                raise AwbenchError(f"--{name.replace('_', '-')} must not be negative")
        if self.subset is not None and self.subset < 1:
            raise AwbenchError("--subset must be a positive number of images")
        if self.lr <= 0:
            raise AwbenchError("--lr must be positive")
        if self.schedule not in SCHEDULES:
            raise UnknownNameError("schedule", self.schedule, SCHEDULES)
        if not 0.0 <= self.router_evasion <= 1.0:  # also refuses NaN
            raise AwbenchError(f"--router-evasion must lie in [0, 1] (a share of the adversarial examples), "
                               f"got {self.router_evasion!r}")
        if self.router_evasion and self.method != "awnet":
            raise AwbenchError(f"--router-evasion trains an AW-Net's router: it needs --method awnet, not "
                               f"{self.method!r}")
        for flag, teacher in (("--clean-teacher", self.clean_teacher), ("--robust-teacher", self.robust_teacher)):
            if teacher is not None:
                check_teacher(teacher, flag)
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """A TrainConfig from its dict (a config.json); AwbenchError names the first field of a wrong type."""
        if not isinstance(values, dict):
            raise AwbenchError(f"a run configuration is a JSON object, not {type(values).__name__}")
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in values.items() if k in known}
        check_types(values)
        return cls(**values)


def learning_rate_factor(config: TrainConfig, epoch: int) -> float:
    """Multiplier of the base lr during `epoch` (0-based)."""
    if config.schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * epoch / max(1, config.epochs)))
    if config.schedule == "piecewise":
        return 0.1 ** sum(epoch >= int(config.epochs * f) for f in (0.5, 0.75) if int(config.epochs * f) > 0)
    if config.schedule == "constant":
        return 1.0
    raise UnknownNameError("schedule", config.schedule, SCHEDULES)


def check_teacher(reference: str, flag: str) -> str:
    """`reference` if it names a teacher without running code: an awbench checkpoint or run folder, zoo: or rb:.

    A teacher is saved in config.json and loaded again by `--resume`, so a factory (`file.py:build`) or a tv:
    model (which needs options no config keeps) is refused: code runs only when named on the eval command line.
    """
    from awbench.models import is_foreign

    if is_foreign(reference) and not str(reference).startswith("rb:"):
        raise AwbenchError(f"{flag} '{reference}': a teacher is an awbench checkpoint, a run folder, zoo:NAME or "
                           "rb:MODEL_ID (a model factory or tv: model cannot be a teacher)")
    return reference


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float (JSON allows 1e400 written out as digits)
        return False


def _accepts(hint: Any, value: Any) -> bool:
    """Whether a JSON `value` fits the annotation `hint` (bool is not a number here, nor a number a bool)."""
    if get_origin(hint) in (Union, UnionType):
        return any(_accepts(option, value) for option in get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and _finite(value)
    if hint is str:
        return isinstance(value, str)
    origin = get_origin(hint) or hint
    return isinstance(value, origin) if isinstance(origin, type) else True


def check_types(values: dict[str, Any]) -> None:
    """Every known TrainConfig field in `values` holds a value of its annotated type; AwbenchError otherwise.

    `eps` and `step_size` also take the strings the CLI accepts ("8/255"), parsed later by validate()."""
    hints = get_type_hints(TrainConfig)
    for name, value in values.items():
        if name not in hints:
            continue
        hint = hints[name] | str if name in ("eps", "step_size") else hints[name]
        if not _accepts(hint, value):
            raise AwbenchError(f"run configuration field '{name}' holds {value!r:.60}, which is not of type "
                               f"{_type_name(hints[name])}")


def _type_name(hint: Any) -> str:
    options = get_args(hint) if get_origin(hint) in (Union, UnionType) else (hint,)
    return " or ".join("null" if option is type(None) else getattr(option, "__name__", str(option))
                       for option in options)

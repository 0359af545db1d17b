"""What a foreign model needs beside its reference: weights, input normalisation, classes, factory arguments."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from awbench.errors import AwbenchError

MODELS_ENV = "AWBENCH_MODELS"
CACHE = Path.home() / ".cache" / "awbench" / "models"


# Bounds on what a checkpoint's metadata or an option may ask to build, checked before any layer is allocated:
# a corrupt or hostile `num_classes=10**9` would otherwise try to allocate hundreds of GB for the last layer.
MAX_NUM_CLASSES = 100_000  # ImageNet-21k has 21,841
MAX_IN_CHANNELS = 1_024


@dataclass(frozen=True)
class ModelOptions:
    """Options of `awbench eval` for models awbench did not write (rb:, tv:, a factory).

    `mean`/`std`: awbench normalises [0, 1] images with them in front of the model; `normalized_inside`: the
    model takes [0, 1] images itself. `model_args`: keyword arguments of a factory. `model_dir`: where
    RobustBench weights live (<dir>/<dataset>/<threat_model>/<MODEL_ID>.pt).
    """

    weights: Path | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    normalized_inside: bool = False
    num_classes: int | None = None
    dataset: str | None = None
    model_args: dict[str, Any] = field(default_factory=dict)
    model_dir: Path | None = None

    def __post_init__(self) -> None:
        count = self.num_classes
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)
                                  or not 1 <= count <= MAX_NUM_CLASSES):
            raise AwbenchError(f"--num-classes must be a whole number in 1..{MAX_NUM_CLASSES:,}, got {count!r}")

    def given(self) -> list[str]:
        """The command-line flags of the options that were set (e.g. ['--weights', '--mean'])."""
        flags = (("--weights", self.weights), ("--mean", self.mean), ("--std", self.std),
                 ("--normalized-inside", self.normalized_inside), ("--num-classes", self.num_classes),
                 ("--model-arg", self.model_args), ("--dataset", self.dataset), ("--model-dir", self.model_dir))
        return [flag for flag, value in flags if value is not None and value is not False and value != {}]

    def model_dirs(self) -> list[Path]:
        """Folders searched for RobustBench weights, in order: --model-dir, $AWBENCH_MODELS, the cache."""
        folders = [self.model_dir, Path(os.environ[MODELS_ENV]) if os.environ.get(MODELS_ENV) else None, CACHE]
        return list(dict.fromkeys(Path(folder) for folder in folders if folder is not None))


def parse_floats(text: str | None, name: str) -> tuple[float, ...] | None:
    """'0.49,0.48,0.45' -> (0.49, 0.48, 0.45); None stays None."""
    if text is None:
        return None
    try:
        values = tuple(float(part) for part in str(text).split(",") if part.strip())
    except ValueError:
        raise AwbenchError(f"--{name} '{text}' is not a comma-separated list of numbers, e.g. 0.49,0.48,0.45") from None
    if not values:
        raise AwbenchError(f"--{name} is empty; give one number per channel, e.g. 0.49,0.48,0.45")
    return values


def parse_model_args(items: list[str] | None) -> dict[str, Any]:
    """['depth=28', 'widen=10', 'name=wrn'] -> {'depth': 28, 'widen': 10, 'name': 'wrn'} (numbers, booleans, text)."""
    parsed: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip().isidentifier():
            raise AwbenchError(f"--model-arg '{item}' is not key=value (e.g. --model-arg depth=28)")
        parsed[key.strip()] = _literal(value.strip())
    return parsed


def _literal(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text

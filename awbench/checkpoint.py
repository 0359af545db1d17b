"""Checkpoints: weights plus the metadata needed to rebuild the model, written atomically, loaded safely.

A checkpoint is a dict saved by `torch.save`:
    {"format": "awbench-checkpoint", "format_version": 1, "metadata": {...}, "state_dict": {...},
     "training_state": {...} | absent}
`metadata` holds at least: architecture, num_classes, in_channels, mean, std, dataset, method, norm, eps,
epoch, awbench_version. Loading uses `torch.load(weights_only=True)`, so a file that would run code when
unpickled is refused instead of executed.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

import model_zoo
from awbench import __version__, run_layout, zoo
from awbench.errors import USER_ERRORS, CheckpointError
from awbench.files import atomic_write  # noqa: F401  (imported from here by older code)
from awbench.models.options import MAX_IN_CHANNELS, MAX_NUM_CLASSES
from awbench.safe_load import load_safely

FORMAT = "awbench-checkpoint"
FORMAT_VERSION = 1
REQUIRED_METADATA = ("architecture", "num_classes", "in_channels", "mean", "std")


def save(
    path: str | Path,
    model: nn.Module,
    metadata: dict[str, Any],
    training_state: dict[str, Any] | None = None,
) -> Path:
    """Write model weights + metadata (+ optional optimizer/scheduler/RNG state) atomically to `path`."""
    missing = [key for key in REQUIRED_METADATA if key not in metadata]
    if missing:
        raise ValueError(f"checkpoint metadata lacks {missing}")
    module = model.module if hasattr(model, "module") else model  # DDP / compiled wrappers
    module = getattr(module, "_orig_mod", module)
    payload: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "metadata": {**metadata, "awbench_version": __version__},
        "state_dict": {k: v.detach().cpu() for k, v in module.state_dict().items()},
    }
    if training_state is not None:
        payload["training_state"] = training_state
    atomic_write(Path(path), lambda handle: torch.save(payload, handle))
    return Path(path)


def read(path: str | Path) -> dict[str, Any]:
    """Read and validate the raw checkpoint dict; every failure becomes one clear CheckpointError.

    `path` is a file, a run folder (best.pt, else checkpoint.pt) or `zoo:NAME` (a manifest entry, fetched and
    sha256-verified first).
    """
    if str(path).startswith("zoo:"):
        path = zoo.resolve_checkpoint(str(path))
    path = Path(path)
    if path.is_dir():
        for name in run_layout.CHECKPOINTS:
            if (path / name).is_file():
                path = path / name
                break
        else:
            raise CheckpointError(f"{path} is a folder without best.pt or checkpoint.pt")
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    payload = load_safely(path)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an awbench checkpoint (no '{FORMAT}' header)")
    if not isinstance(payload.get("format_version", 0), int):
        raise CheckpointError(f"{path} has an invalid format_version ({payload['format_version']!r})")
    if payload.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{path} was written by a newer awbench (format {payload['format_version']})")
    metadata = payload.get("metadata")
    if not isinstance(metadata, dict) or any(key not in metadata for key in REQUIRED_METADATA):
        raise CheckpointError(f"{path} lacks the metadata needed to rebuild its model")
    weights = payload.get("state_dict")
    if not isinstance(weights, dict) or not all(isinstance(key, str) for key in weights):
        raise CheckpointError(f"{path} has no weights (its state_dict is not a mapping of parameter names)")
    payload["path"] = str(path)
    return payload


def read_migrated(path: str | Path) -> dict[str, Any]:
    """`read`, with the metadata of a legacy AW-Net checkpoint migrated (model_zoo.aw.migrate_metadata): the
    architecture and model_options the weights were really built with. Use this to build a model."""
    payload = read(path)
    payload["metadata"] = model_zoo.aw.migrate_metadata(dict(payload["metadata"]), payload["state_dict"])
    return payload


def load_weights(model: nn.Module, payload: dict[str, Any]) -> nn.Module:
    """`model.load_state_dict(payload's weights, strict)`; weights that do not fit = one CheckpointError."""
    try:
        model.load_state_dict(payload["state_dict"], strict=True)
    except (RuntimeError, KeyError, TypeError) as error:
        detail = " ".join(str(error).split())[:300]
        raise CheckpointError(f"{payload['path']}: weights do not fit architecture "
                              f"'{payload['metadata']['architecture']}' ({detail})") from None
    return model




def _dimension(metadata: dict[str, Any], key: str, largest: int) -> int:
    """metadata[key] as a whole number in [1, largest]; CheckpointError otherwise (never truncated)."""
    value = metadata[key]
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise CheckpointError(f"checkpoint metadata cannot describe a model: {key}={value!r} is not a whole number")
    if not 1 <= value <= largest:
        raise CheckpointError(f"checkpoint metadata cannot describe a model: {key}={value} is outside 1..{largest:,}")
    return value


def build_model(metadata: dict[str, Any]) -> nn.Module:
    """The (untrained) model described by checkpoint metadata (its sizes checked before anything is built)."""
    num_classes = _dimension(metadata, "num_classes", MAX_NUM_CLASSES)
    in_channels = _dimension(metadata, "in_channels", MAX_IN_CHANNELS)
    try:
        return model_zoo.create(
            metadata["architecture"],
            num_classes=num_classes,
            in_channels=in_channels,
            mean=metadata["mean"],
            std=metadata["std"],
            options=metadata.get("model_options"),
        )
    except USER_ERRORS as error:
        raise CheckpointError(f"checkpoint names an architecture this awbench lacks: {error}") from None
    except (TypeError, ValueError, KeyError) as error:  # metadata of the wrong type: "ten" classes, a list...
        raise CheckpointError(f"checkpoint metadata cannot describe a model ({type(error).__name__}: "
                              f"{' '.join(str(error).split())[:160]})") from None


def load(path: str | Path, device: torch.device | str = "cpu", options: Any = None, *,
         allow_factory: bool = False) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model from the checkpoint's metadata alone and load its weights; eval mode.

    `rb:` and `tv:` references go to awbench.models, with `options` (an awbench.models.ModelOptions: weights,
    normalisation, classes). A factory reference (`file.py:build`, `package.module:build`) imports and runs
    Python code, so it is refused unless `allow_factory` says the user named it for this very call (the
    `awbench eval` command line); a reference read from a file (a run's config.json) never runs code.
    """
    from awbench import models  # late: awbench.models loads through awbench.zoo, which imports this module

    if models.is_foreign(path):
        if models.is_factory(path) and not allow_factory:
            raise CheckpointError(f"'{path}' names Python code (a model factory); awbench runs a factory only "
                                  "when it is named on the `awbench eval` command line, never from a saved "
                                  "reference: give an awbench checkpoint, run folder, zoo:NAME or rb:MODEL_ID")
        return models.load(path, options, device)
    given = options.given() if isinstance(options, models.ModelOptions) else []
    if given:
        raise CheckpointError(f"{' '.join(given)} apply only to rb:, tv: and factory models; {path} is an awbench "
                              "checkpoint, whose metadata already says how to build and normalise it")
    payload = read_migrated(path)
    metadata = payload["metadata"]
    model = load_weights(build_model(metadata), payload)
    metadata["checkpoint_path"] = payload["path"]
    return model.to(device).eval(), metadata


def load_training_state(path: str | Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(metadata, state_dict, training_state) of a checkpoint written during training, for --resume."""
    payload = read(path)
    if "training_state" not in payload:
        raise CheckpointError(f"{payload['path']} holds no training state to resume from")
    return payload["metadata"], payload["state_dict"], payload["training_state"]

"""Checkpoints: weights plus the metadata needed to rebuild the model, written atomically, loaded safely.

A checkpoint is a dict saved by `torch.save`:
    {"format": "awbench-checkpoint", "format_version": 1, "metadata": {...}, "state_dict": {...},
     "training_state": {...} | absent}
`metadata` holds at least: architecture, num_classes, in_channels, mean, std, dataset, method, norm, eps,
epoch, awbench_version. Loading uses `torch.load(weights_only=True)`, so a file that would run code when
unpickled is refused instead of executed.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

import model_zoo
from awbench import __version__
from awbench.errors import AwbenchError, CheckpointError

FORMAT = "awbench-checkpoint"
FORMAT_VERSION = 1
REQUIRED_METADATA = ("architecture", "num_classes", "in_channels", "mean", "std")


def atomic_write(path: Path, write: Any) -> None:
    """Call `write(file_object)` on a temporary file beside `path`, then rename it over `path`.

    A reader (or a run killed half-way) never sees a partial file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
        from awbench.zoo import resolve_checkpoint  # late: the zoo module loads checkpoints through this one

        path = resolve_checkpoint(str(path))
    path = Path(path)
    if path.is_dir():
        for name in ("best.pt", "checkpoint.pt"):
            if (path / name).is_file():
                path = path / name
                break
        else:
            raise CheckpointError(f"{path} is a folder without best.pt or checkpoint.pt")
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        refused = [line for line in lines if "GLOBAL" in line]  # safe loading met a class or function
        if not refused:  # not a pickle at all (random bytes, a text file)
            raise CheckpointError(f"cannot read {path}: not a PyTorch file") from None
        raise CheckpointError(
            f"refused to load {path}: it holds pickled objects that safe loading (weights_only) does not "
            f"allow, which could run code ({refused[0][:160]})"
        ) from None
    except Exception as error:  # noqa: BLE001  (junk makes the unpickler raise KeyError, IndexError, ...)
        raise CheckpointError(
            f"cannot read {path}: truncated or not a PyTorch file ({type(error).__name__})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an awbench checkpoint (no '{FORMAT}' header)")
    if not isinstance(payload.get("format_version", 0), int):
        raise CheckpointError(f"{path} has an invalid format_version ({payload['format_version']!r})")
    if payload.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{path} was written by a newer awbench (format {payload['format_version']})")
    metadata = payload.get("metadata")
    if not isinstance(metadata, dict) or any(key not in metadata for key in REQUIRED_METADATA):
        raise CheckpointError(f"{path} lacks the metadata needed to rebuild its model")
    payload["path"] = str(path)
    return payload


def build_model(metadata: dict[str, Any]) -> nn.Module:
    """The (untrained) model described by checkpoint metadata."""
    try:
        return model_zoo.create(
            metadata["architecture"],
            num_classes=int(metadata["num_classes"]),
            in_channels=int(metadata["in_channels"]),
            mean=metadata["mean"],
            std=metadata["std"],
            options=metadata.get("model_options"),
        )
    except AwbenchError as error:
        raise CheckpointError(f"checkpoint names an architecture this awbench lacks: {error}") from None
    except (TypeError, ValueError, KeyError) as error:  # metadata of the wrong type: "ten" classes, a list...
        raise CheckpointError(f"checkpoint metadata cannot describe a model ({type(error).__name__}: "
                              f"{' '.join(str(error).split())[:160]})") from None


def load(path: str | Path, device: torch.device | str = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model from the checkpoint's metadata alone and load its weights; eval mode."""
    payload = read(path)
    metadata = model_zoo.aw.migrate_metadata(dict(payload["metadata"]), payload["state_dict"])
    model = build_model(metadata)
    try:
        model.load_state_dict(payload["state_dict"], strict=True)
    except (RuntimeError, KeyError, TypeError) as error:
        detail = " ".join(str(error).split())[:300]
        raise CheckpointError(
            f"{payload['path']}: weights do not fit architecture '{metadata['architecture']}' ({detail})"
        ) from None
    metadata["checkpoint_path"] = payload["path"]
    return model.to(device).eval(), metadata


def load_training_state(path: str | Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(metadata, state_dict, training_state) of a checkpoint written during training, for --resume."""
    payload = read(path)
    if "training_state" not in payload:
        raise CheckpointError(f"{payload['path']} holds no training state to resume from")
    return payload["metadata"], payload["state_dict"], payload["training_state"]

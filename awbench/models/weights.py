"""Loading a state dict safely (weights_only: no code runs from a weights file) and hashing it."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from awbench.errors import CheckpointError
from awbench.safe_load import load_safely


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a state-dict file, read with `torch.load(weights_only=True)`.

    An awbench checkpoint, a {'state_dict': ...} or {'model': ...} wrapper and a plain state dict are accepted.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no weights file at {path}")
    payload = load_safely(path, advice="; save a plain state dict: torch.save(model.state_dict(), path)")
    for key in ("state_dict", "model"):
        if isinstance(payload, dict) and isinstance(payload.get(key), dict):
            payload = payload[key]
            break
    if not isinstance(payload, dict) or not all(isinstance(value, torch.Tensor) for value in payload.values()):
        raise CheckpointError(f"{path} does not hold a state dict (a dict of tensors)")
    return {key.removeprefix("module."): value for key, value in payload.items()}


def load_weights(model: nn.Module, path: Path) -> None:
    """Load `path` into `model` (strict); a mismatch is one line naming the first missing/unexpected keys."""
    try:
        model.load_state_dict(read_state_dict(path), strict=True)
    except RuntimeError as error:
        detail = " ".join(str(error).split())[:300]
        raise CheckpointError(f"{path}: weights do not fit the model ({detail})") from None


def weights_record(path: Path | None) -> dict[str, str | None]:
    """{'weights': absolute path, 'weights_sha256': hex} for summary.json, so a result traces to its file."""
    from awbench.files import sha256_of

    if path is None:
        return {"weights": "set by the factory itself", "weights_sha256": None}
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no weights file at {path} (--weights)")
    return {"weights": str(path.resolve()), "weights_sha256": sha256_of(path)}

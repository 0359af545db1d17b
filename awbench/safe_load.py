"""Reading a PyTorch file without running code from it: `torch.load(weights_only=True)`, one-line errors.

Kept apart from awbench.checkpoint, which also loads rb:, tv: and factory models (awbench.models), so that the
loaders of those models can read their weights files without importing checkpoint.py back.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch

from awbench.errors import CheckpointError


def load_safely(path: Path, advice: str = "") -> Any:
    """`torch.load(path, weights_only=True)`: no code runs from the file; every failure is one CheckpointError.

    `advice` ends the message of a file refused for holding pickled objects (what to save instead)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        refused = [line for line in lines if "GLOBAL" in line]  # safe loading met a class or function
        if not refused:  # not a pickle at all (random bytes, a text file)
            raise CheckpointError(f"cannot read {path}: not a PyTorch file") from None
        raise CheckpointError(
            f"refused to load {path}: it holds pickled objects that safe loading (weights_only) does not "
            f"allow, which could run code ({refused[0][:160]}){advice}"
        ) from None
    except Exception as error:  # noqa: BLE001  (junk makes the unpickler raise KeyError, IndexError, ...)
        raise CheckpointError(
            f"cannot read {path}: truncated or not a PyTorch file ({type(error).__name__})"
        ) from None

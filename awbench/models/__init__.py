"""Models awbench did not write: RobustBench (`rb:`), torchvision (`tv:`) and the user's own factory + weights.

    model, metadata = awbench.models.load("rb:Carmon2019Unlabeled", ModelOptions(model_dir="models"))
    model, metadata = awbench.models.load("my_net.py:build", ModelOptions(weights="w.pt", normalized_inside=True))

`awbench.checkpoint.load` sends every such reference here, so `eval`, `train --clean-teacher` and the Python
API accept them. Each loader returns an eval-mode model taking images in [0, 1] and metadata that records the
source and the weights' sha256 (`metadata["source"]`), written into summary.json.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from awbench.models.options import ModelOptions
from awbench.models.registry import is_factory, loader, source_module

__all__ = ["ModelOptions", "is_factory", "is_foreign", "load"]


def is_foreign(reference: str | Path) -> bool:
    """True for rb:, tv: and factory references (not for awbench checkpoints, run folders or zoo: names)."""
    return source_module(reference) is not None


def load(reference: str | Path, options: ModelOptions | None = None,
         device: torch.device | str = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """The model (eval mode, inputs in [0, 1]) and its metadata, as awbench.checkpoint.load returns them."""
    load_function = loader(reference)
    if load_function is None:
        raise ValueError(f"{reference} is not a foreign model reference")
    return load_function(str(reference), options or ModelOptions(), device)

"""Pick the compute device: cuda when present, cpu otherwise."""

from __future__ import annotations

import torch

from awbench.errors import AwbenchError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str = "auto") -> torch.device:
    """Return the torch device for 'auto' | 'cpu' | 'cuda' (or 'cuda:N')."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise AwbenchError(f"--device {name} asked for, but no CUDA GPU is available (use --device cpu)")
        return torch.device(name)
    raise AwbenchError(f"unknown device '{name}'; choose one of: {', '.join(DEVICE_CHOICES)}")

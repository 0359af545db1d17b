"""Pick the compute device (cuda when present, cpu otherwise), and the opt-in torch.compile wrapper."""

from __future__ import annotations

import torch
from torch import nn

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


def compile_model(model: nn.Module, backend: bool | str = True, *, dynamic: bool | None = None) -> nn.Module:
    """`torch.compile(model)` (backend True = inductor, or a backend name such as "aot_eager").

    The compiled wrapper shares parameters with `model`; save and fingerprint the original, not the wrapper.
    dynamic=True compiles shape-generic graphs once (for evaluation, whose batches shrink as samples break).
    """
    return torch.compile(model, backend="inductor" if backend is True else backend, dynamic=dynamic)

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


RECOMPILE_LIMIT = 64  # graphs kept per compiled forward (torch's default, 8, is too few for an evaluation)


def compile_model(model: nn.Module, backend: bool | str = True, *, dynamic: bool | None = None) -> nn.Module:
    """`torch.compile(model)` (backend True = inductor, or a backend name such as "aot_eager").

    The compiled wrapper shares parameters with `model`; save and fingerprint the original, not the wrapper.
    dynamic=True compiles shape-generic graphs once (for evaluation, whose batches shrink as samples break).
    An evaluation calls the model with and without autograd, on inputs that do and do not require grad, under
    autocast or not, at batch sizes of 1 and above: each combination is its own graph, and past torch's
    recompile limit (8) the model would silently run uncompiled; the limit is raised to RECOMPILE_LIMIT.
    """
    import torch._dynamo.config

    torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, RECOMPILE_LIMIT)
    return torch.compile(model, backend="inductor" if backend is True else backend, dynamic=dynamic)

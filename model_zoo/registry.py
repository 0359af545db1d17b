"""The one registry of architectures: `@register(name)` adds one, `create(name, ...)` is the one door in.

Models take images in [0, 1]; normalisation is the first layer (`Normalize`), so attacks see raw pixels.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence

import torch
from torch import nn

from awbench.errors import UnknownNameError

ArchitectureFn = Callable[..., nn.Module]
_ARCHITECTURES: dict[str, ArchitectureFn] = {}


def register(name: str) -> Callable[[ArchitectureFn], ArchitectureFn]:
    """Decorator: register an architecture builder `fn(num_classes=..., in_channels=...) -> nn.Module`."""

    def decorator(fn: ArchitectureFn) -> ArchitectureFn:
        if name in _ARCHITECTURES:
            raise ValueError(f"architecture '{name}' registered twice")
        _ARCHITECTURES[name] = fn
        return fn

    return decorator


def available() -> list[str]:
    """Names of all registered architectures, sorted."""
    return sorted(_ARCHITECTURES)


class Normalize(nn.Module):
    """Per-channel (x - mean) / std, as a layer so that attacks work on [0, 1] pixels."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def create(
    name: str,
    *,
    num_classes: int = 10,
    in_channels: int = 3,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
) -> nn.Module:
    """Build architecture `name` as `Sequential(normalize, net)`; mean/std default to identity (0, 1)."""
    if name not in _ARCHITECTURES:
        raise UnknownNameError("model", name, available())
    net = _ARCHITECTURES[name](num_classes=num_classes, in_channels=in_channels)
    mean = list(mean) if mean is not None else [0.0] * in_channels
    std = list(std) if std is not None else [1.0] * in_channels
    return nn.Sequential(OrderedDict(normalize=Normalize(mean, std), net=net))

"""The one registry of architectures: `@register(name)` adds one, `create(name, ...)` is the one door in.

Models take images in [0, 1]; normalisation is the first layer (`Normalize`), so attacks see raw pixels.
An architecture may take options (keyword arguments of its builder, e.g. the AW-Net router's); it then
registers `resolve_options`, which checks them and fills in the defaults, so that a checkpoint records every
value its model was built with (`resolved_options`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from model_zoo.errors import ModelZooError, UnknownNameError

ArchitectureFn = Callable[..., nn.Module]
OptionsFn = Callable[[dict[str, Any]], dict[str, Any]]
_ARCHITECTURES: dict[str, ArchitectureFn] = {}
_OPTIONS: dict[str, OptionsFn] = {}


def register(name: str, resolve_options: OptionsFn | None = None) -> Callable[[ArchitectureFn], ArchitectureFn]:
    """Decorator: register an architecture builder `fn(num_classes=..., in_channels=..., **options) -> nn.Module`.

    `resolve_options(options) -> options` (for an architecture with options) validates them, raising an
    ModelZooError, and returns them with every default filled in.
    """

    def decorator(fn: ArchitectureFn) -> ArchitectureFn:
        if name in _ARCHITECTURES:
            raise ValueError(f"architecture '{name}' registered twice")
        _ARCHITECTURES[name] = fn
        if resolve_options is not None:
            _OPTIONS[name] = resolve_options
        return fn

    return decorator


def resolved_options(name: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Architecture `name`'s options with defaults filled in ({} for one without options); bad ones raise."""
    if name not in _ARCHITECTURES:
        raise UnknownNameError("model", name, available())
    options = dict(options or {})
    if name not in _OPTIONS:
        if options:
            raise ModelZooError(f"model '{name}' takes no options (given: {', '.join(sorted(options))})")
        return {}
    return _OPTIONS[name](options)


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
    options: Mapping[str, Any] | None = None,
) -> nn.Module:
    """Build architecture `name` as `Sequential(normalize, net)`; mean/std default to identity (0, 1).

    `options`: the architecture's own options (see `resolved_options`); an unknown one is an ModelZooError.
    """
    options = resolved_options(name, options)
    net = _ARCHITECTURES[name](num_classes=num_classes, in_channels=in_channels, **options)
    mean = list(mean) if mean is not None else [0.0] * in_channels
    std = list(std) if std is not None else [1.0] * in_channels
    return nn.Sequential(OrderedDict(normalize=Normalize(mean, std), net=net))


"""The one registry of training methods: `@register_method(name)` on a TrainingMethod subclass."""

from __future__ import annotations

from collections.abc import Callable

import torch

from awbench.errors import UnknownNameError
from awbench.training.config import TrainConfig
from awbench.training.methods.base import TrainingMethod

_METHODS: dict[str, type[TrainingMethod]] = {}


def register_method(name: str) -> Callable[[type[TrainingMethod]], type[TrainingMethod]]:
    def decorator(cls: type[TrainingMethod]) -> type[TrainingMethod]:
        if name in _METHODS:
            raise ValueError(f"training method '{name}' registered twice")
        cls.name = name
        _METHODS[name] = cls
        return cls

    return decorator


def available_methods() -> list[str]:
    return sorted(_METHODS)


def method_class(name: str) -> type[TrainingMethod]:
    if name not in _METHODS:
        raise UnknownNameError("training method", name, available_methods())
    return _METHODS[name]


def build_method(config: TrainConfig, device: torch.device) -> TrainingMethod:
    return method_class(config.method)(config, device)

"""The model zoo: architectures behind one registry, and a manifest of published checkpoints.

    >>> import model_zoo
    >>> model = model_zoo.create("small-cnn", num_classes=10)

`import model_zoo` is cheap (no torch): the registry and every architecture are imported on first use of
`model_zoo.create` (or `available`, `register`, ...), so that `model_zoo.errors` and `model_zoo.manifest` serve
a command line that must start fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from model_zoo.designs import is_dynamic_architecture

_REGISTRY = ("Normalize", "available", "create", "register", "resolved_options")
_SUBMODULES = ("architectures", "aw", "designs", "errors", "manifest", "registry")
__all__ = [*_REGISTRY, "aw", "is_dynamic_architecture"]


def __getattr__(name: str) -> Any:
    if name in _REGISTRY:
        import_module("model_zoo.architectures")  # importing them registers the static and aw-* architectures
        import_module("model_zoo.aw")
        return getattr(import_module("model_zoo.registry"), name)
    if name in _SUBMODULES:
        return import_module(f"model_zoo.{name}")
    raise AttributeError(f"module 'model_zoo' has no attribute '{name}'")

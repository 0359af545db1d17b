"""Lazy package attributes: `from awbench.data import load_dataset` imports the defining module on first use,
so that importing a package (e.g. for `--help`) stays cheap."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any


def lazy_getattr(package: str, where: dict[str, str]) -> Callable[[str], Any]:
    """A module-level `__getattr__` for `package` that imports `where[name]` when `name` is first asked for."""
    def __getattr__(name: str) -> Any:
        if name in where:
            return getattr(import_module(where[name]), name)
        raise AttributeError(f"module '{package}' has no attribute '{name}'")
    return __getattr__

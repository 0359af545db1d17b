"""The one registry of model reference kinds: a prefix (or a pattern) -> the module that loads it.

Adding a source = one new module with `load(reference, options, device) -> (model, metadata)` + one line here.
awbench's own references (a .pt file, a run folder, `zoo:NAME`) are not foreign and stay with
awbench.checkpoint.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

PREFIXES: dict[str, str] = {
    "rb:": "awbench.models.robustbench_source",
    "tv:": "awbench.models.torchvision_source",
}
FACTORY = "awbench.models.factory_source"


def source_module(reference: str | Path) -> str | None:
    """The module that loads `reference`, or None for an awbench checkpoint, run folder or zoo: name."""
    text = str(reference)
    for prefix, module in PREFIXES.items():
        if text.startswith(prefix):
            return module
    if Path(text).exists():  # an existing file or folder is awbench's, even with a ':' in its name
        return None
    from awbench.models.factory_source import matches  # the pattern only; no user code is imported here

    return FACTORY if matches(text) and not text.startswith("zoo:") else None


def is_factory(reference: str | Path) -> bool:
    """True for `file.py:function` / `package.module:function`: references that import and run the user's code."""
    return source_module(reference) == FACTORY


def loader(reference: str | Path) -> Callable | None:
    module = source_module(reference)
    return importlib.import_module(module).load if module is not None else None

"""`path/to/file.py:build` or `package.module:build`: a Python function that returns the model.

The file or module is imported only here, only because the user named it; the weights (`--weights`) are read
with weights_only, so no code ever runs from a weights file.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import inspect
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from awbench.errors import AwbenchError
from awbench.files import sha256_of
from awbench.models import foreign
from awbench.models.options import ModelOptions
from awbench.models.weights import weights_record

# A file ending in .py, or a dotted module path, then ':' and a function name.
PATTERN = re.compile(r"(?P<module>.+\.py|[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*):(?P<function>[A-Za-z_]\w*)")


def matches(reference: str) -> bool:
    return PATTERN.fullmatch(reference) is not None


def _import(module: str) -> tuple[Any, dict[str, Any]]:
    if module.endswith(".py"):
        path = Path(module).expanduser()
        if not path.is_file():
            raise AwbenchError(f"no Python file at {path} (the model factory '{module}')")
        name = "awbench_factory_" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
        spec = importlib.util.spec_from_file_location(name, path)
        loaded = importlib.util.module_from_spec(spec)
        sys.modules[name] = loaded  # dataclasses and pickling look the module up by name
        try:
            with _importable_from(path.resolve().parent):  # the file may import its neighbours
                spec.loader.exec_module(loaded)
        except Exception as error:
            sys.modules.pop(name, None)
            raise AwbenchError(f"importing {path} failed: {type(error).__name__}: {error}") from None
        return loaded, {"file": str(path.resolve()), "file_sha256": sha256_of(path)}
    try:
        with _importable_from(Path.cwd()):  # the `awbench` script, unlike python -m, does not put . on sys.path
            loaded = importlib.import_module(module)
    except Exception as error:  # noqa: BLE001  (a SyntaxError, or anything the module's own code raises)
        detail = " ".join(str(error).split())[:300]
        raise AwbenchError(f"cannot import module '{module}' for the model factory ({type(error).__name__}: "
                           f"{detail})") from None
    origin = getattr(loaded, "__file__", None)
    return loaded, {"module": module, **({"file": origin, "file_sha256": sha256_of(Path(origin))} if origin else {})}


@contextlib.contextmanager
def _importable_from(folder: Path) -> Iterator[None]:
    """`folder` on sys.path while the user's code is imported, and off it afterwards."""
    entry = str(folder)
    added = entry not in sys.path
    if added:
        sys.path.insert(0, entry)
    try:
        yield
    finally:
        if added and entry in sys.path:
            sys.path.remove(entry)


def load(reference: str, options: ModelOptions, device: torch.device | str) -> tuple[nn.Module, dict[str, Any]]:
    """Import the named module or file, call the function with --model-arg keywords, load --weights."""
    match = PATTERN.fullmatch(reference)
    module, function_name = match["module"], match["function"]
    loaded, origin = _import(module)
    factory = getattr(loaded, function_name, None)
    if not callable(factory):
        found = sorted(name for name, value in vars(loaded).items() if inspect.isfunction(value)
                       and value.__module__ == loaded.__name__)
        raise AwbenchError(f"{module} has no function '{function_name}'"
                           + (f"; it defines: {', '.join(found)}" if found else ""))
    kwargs = dict(options.model_args)
    parameters = _parameters(factory)
    if options.num_classes is not None and "num_classes" in parameters and "num_classes" not in kwargs:
        kwargs["num_classes"] = options.num_classes
    try:
        model = factory(**kwargs)
    except TypeError as error:
        raise AwbenchError(f"calling {reference}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())}) failed: "
                           f"{error}; its parameters: {', '.join(parameters) or 'none'}") from None
    source = {"kind": "factory", "reference": reference, **origin, "function": function_name,
              "model_args": kwargs, **weights_record(options.weights)}
    label = f"{Path(module).stem if module.endswith('.py') else module}.{function_name}"  # the row name in compare
    return foreign.finish(model, options, reference=reference, label=label, architecture=function_name,
                          source=source, device=device)


def _parameters(factory: Any) -> list[str]:
    try:
        return list(inspect.signature(factory).parameters)
    except (TypeError, ValueError):
        return []

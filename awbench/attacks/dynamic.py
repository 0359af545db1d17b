"""Bridge to AW-Net's routing interface (`model_zoo.aw`), looked up at call time.

`model_zoo.aw.routing(model)` returns the AWNet inside `model` (or None) and `model_zoo.aw.is_dynamic(model)`
says whether its weights depend on the input. The AWNet exposes `last_detection_logit` ([N], from its most
recent forward, differentiable), `last_signals` and the context manager `pinned("clean" | "adversarial")`.
Where `model_zoo.aw` is absent, no model is dynamic.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from torch import nn


def _aw_module() -> ModuleType | None:
    try:
        return importlib.import_module("model_zoo.aw")
    except ModuleNotFoundError as error:
        if error.name in ("model_zoo.aw", "model_zoo"):
            return None
        raise


def router_of(model: nn.Module) -> Any | None:
    """The AWNet whose router an adaptive attack can steer, or None for a static model."""
    aw = _aw_module()
    return None if aw is None else aw.routing(model)


def model_is_dynamic(model: nn.Module) -> bool:
    """True when the model processes each input with input-dependent weights (AW-Net)."""
    aw = _aw_module()
    return False if aw is None else bool(aw.is_dynamic(model))

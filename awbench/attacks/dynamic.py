"""Bridge to AW-Net's routing interface (`model_zoo.aw`): which models are dynamic, and their router.

`model_zoo.aw.routing(model)` returns the AWNet inside `model` (or None) and `is_dynamic(model)` says whether
the model's weights depend on its input. The AWNet exposes `last_detection_logit` ([N], from its most recent
forward, differentiable), `last_signals` and the context manager `pinned("clean" | "adversarial")`.
The evaluation calls these two functions through this module (tests may substitute them).
"""

from __future__ import annotations

from typing import Any

from torch import nn

from model_zoo.aw import is_dynamic, routing


def router_of(model: nn.Module) -> Any | None:
    """The AWNet whose router an adaptive attack can steer, or None for a static model."""
    return routing(model)


def model_is_dynamic(model: nn.Module) -> bool:
    """True when the model processes each input with input-dependent weights (AW-Net)."""
    return bool(is_dynamic(model))

"""Bridge to AW-Net's routing interface (`model_zoo.aw`): which models are dynamic, their router, and pinning.

`model_zoo.aw.routing(model)` returns the AWNet inside `model` (or None) and `is_dynamic(model)` says whether
the model's weights depend on its input. The AWNet exposes `last_detection_logit` ([N], from its most recent
forward, differentiable), `last_signals` and the context manager `pinned(r)` (r in [0, 1], or "clean" = 0 /
"adversarial" = 1). The evaluation calls these functions through this module (tests may substitute them).

`PinnedSignal(model, r)` is the network with every regulation signal fixed to r: a static model (the router
no longer changes the weights), which every attack can attack white-box; r is a buffer of its state dict, so
an evaluation's fingerprint (and resume state) tells pinned from dynamic evaluations apart.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from awbench.errors import AwbenchError
from model_zoo.aw import is_dynamic, routing


class PinnedSignal(nn.Module):
    """`model` (which holds an AW-Net) with every regulation signal fixed to `value`; a static network."""

    def __init__(self, model: nn.Module, value: float):
        super().__init__()
        awnet = routing(model)
        if awnet is None:
            raise AwbenchError("--pin-signal needs a dynamic model with a router (an AW-Net); this model has none")
        self.model, self.value = model, check_pin_signal(value)
        self.register_buffer("pin_signal", torch.tensor(self.value, dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with routing(self.model).pinned(self.value):
            return self.model(x)


def check_pin_signal(value: Any) -> float:
    """`value` as a float in [0, 1], else a one-line AwbenchError."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise AwbenchError(f"--pin-signal must be a number in [0, 1], got {value!r}") from None
    if isinstance(value, bool) or math.isnan(number) or not 0.0 <= number <= 1.0:
        raise AwbenchError(f"--pin-signal must lie in [0, 1], got {value!r}")
    return number


def pin(model: nn.Module, value: float) -> PinnedSignal:
    """The model with its AW-Net's signals fixed to `value` (AwbenchError for a static model or a bad value)."""
    check_pin_signal(value)
    return PinnedSignal(model, value)


def pinned_value(model: nn.Module) -> float | None:
    """The constant signal of a PinnedSignal model (anywhere inside `model`), else None."""
    for module in model.modules():
        if isinstance(module, PinnedSignal):
            return module.value
    return None


def router_of(model: nn.Module) -> Any | None:
    """The AWNet whose router an adaptive attack can steer, or None (a static or a pinned model)."""
    return None if pinned_value(model) is not None else routing(model)


def model_is_dynamic(model: nn.Module) -> bool:
    """True when the model processes each input with input-dependent weights (AW-Net, not pinned)."""
    return pinned_value(model) is None and bool(is_dynamic(model))


def detection_logit(router: Any, n: int) -> torch.Tensor:
    """[n] detection logits of the router's most recent forward (differentiable)."""
    return router.last_detection_logit.reshape(n, -1)[:, 0]

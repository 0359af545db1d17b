"""Straight-through softening of a router: forward exact, backward through sigmoid(logit / T).

A saturated router (signals 1.0 after PGD's noisy start) passes no gradient: d sigmoid(z)/dz ~ 1e-5 at
z = 11. Inside `softened_router(model, temperature)` each signal keeps its exact forward value, but its
gradient is that of sigmoid(z / T), which stays informative for |z| up to a few T (Athalye et al. 2018's
BPDA, in its straight-through form). The signal logits z are read with forward hooks on the router's
signal and detection heads (router.py: z = signal_heads(e) + detection_logit, or signal_heads(e) alone
without the router shortcut); the hook checks that
sigmoid(z) reproduces the router's signals and refuses to run otherwise, so a changed router cannot be
silently attacked with wrong gradients.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from awbench.attacks import dynamic

DEFAULT_TEMPERATURE = 8.0
CONSISTENCY_TOLERANCE = 1e-4


def straight_through_sigmoid(logit: torch.Tensor, exact: torch.Tensor, temperature: float) -> torch.Tensor:
    """Value `exact` (= sigmoid(logit)), gradient of sigmoid(logit / temperature)."""
    soft = torch.sigmoid(logit / temperature)
    return soft + (exact - soft).detach()


@contextmanager
def softened_router(model: nn.Module, temperature: float = DEFAULT_TEMPERATURE) -> Iterator[nn.Module]:
    """Inside, the AW-Net's router signals are straight-through softened (see the module doc)."""
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    awnet = dynamic.router_of(model)
    if awnet is None:
        raise ValueError("softened_router needs a dynamic model with a router (an AW-Net)")
    router = awnet.router
    captured: dict[str, torch.Tensor] = {}

    def keep(name: str) -> Any:
        def hook(_module: nn.Module, _inputs: Any, output: torch.Tensor) -> None:
            captured[name] = output
        return hook

    def soften(_module: nn.Module, _inputs: Any, output: tuple[dict[str, torch.Tensor], torch.Tensor]) -> Any:
        signals, detection = output
        logits = captured.pop("heads")
        shortcut = captured.pop("detection").reshape(len(detection), -1)[:, :1]
        if getattr(router, "shortcut", True):  # router_shortcut=False: r = sigmoid(heads) alone
            logits = logits + shortcut
        parts = logits.split(router.head_sizes, dim=1)
        softened = {}
        for (name, exact), logit in zip(signals.items(), parts):
            if (torch.sigmoid(logit.detach()) - exact.detach()).abs().max() > CONSISTENCY_TOLERANCE:
                raise RuntimeError("softened_router: the router's signals are not sigmoid(heads + detection); "
                                   "update awbench.attacks.straight_through for the new router")
            softened[name] = straight_through_sigmoid(logit, exact, temperature)
        return softened, detection

    handles = [router.signal_heads.register_forward_hook(keep("heads")),
               router.detection_head.register_forward_hook(keep("detection")),
               router.register_forward_hook(soften)]
    try:
        yield model
    finally:
        for handle in handles:
            handle.remove()

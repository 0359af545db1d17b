"""Low-frequency (subspace) PGD: the perturbation lives on a k x k grid and is bilinearly upsampled.

Why: AW-Net's router reads the image's high-frequency residual and acts as a noise-energy switch, so a
smooth perturbation slips past it (the input stays routed "clean") while still moving the classifier.
Measured on the zoo AW-Net before this attack existed: a 20-step CW-margin PGD upsampled from 8x8 or 16x16
fooled as many images as the old router-aware attack, 98% of them routed "clean".

`low_frequency_pgd(model, x, y, resolution, ...)` works on any model, in train or eval mode; with
judge=True every iterate is judged on the model itself and a sample keeps its first fooling iterate.
"""

from __future__ import annotations

import torch
from torch import nn

from awbench.attacks import dynamic
from awbench.attacks.pgd import LOSSES, LossFn
from awbench.attacks.regime import DEFAULT_KAPPA, real_network_judge, regime_hinge
from awbench.attacks.search import Judge, Objective, search
from awbench.threat import Norm

RESOLUTIONS = (4, 8, 16)


def model_objective(model: nn.Module, *, loss: str | LossFn = "cw", router_weight: float = 0.0,
                    regime: str = "clean", kappa: float = DEFAULT_KAPPA) -> Objective:
    """(x_adv, y) -> loss of the model as it is; with router_weight > 0 (an AW-Net), minus the regime hinge."""
    loss_fn = LOSSES[loss] if isinstance(loss, str) else loss
    router = dynamic.router_of(model) if router_weight else None

    def objective(x_adv: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        value = loss_fn(model(x_adv), y)
        if router is not None:
            value = value - router_weight * regime_hinge(dynamic.detection_logit(router, len(y)), regime, kappa)
        return value

    return objective


def low_frequency_pgd(model: nn.Module, x: torch.Tensor, y: torch.Tensor, resolution: int, *, eps: float,
                      step_size: float, steps: int, norm: Norm = Norm.LINF, start: str = "uniform",
                      loss: str | LossFn = "cw", router_weight: float = 0.0, judge: bool | Judge = True
                      ) -> torch.Tensor:
    """PGD whose perturbation is a bilinearly upsampled [C, resolution, resolution] grid (margin loss)."""
    if resolution < 1 or resolution > min(x.shape[-2:]):
        raise ValueError(f"resolution must lie in [1, {min(x.shape[-2:])}], got {resolution}")
    judged: Judge | None = real_network_judge(model) if judge is True else (judge or None)
    return search(model_objective(model, loss=loss, router_weight=router_weight), x, y, eps=eps,
                  step_size=step_size, steps=steps, norm=norm, resolution=resolution, start=start, judge=judged)

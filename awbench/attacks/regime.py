"""Regime-targeted attacks on a router-switched network (AW-Net), and the objectives they use.

For a regime k ("clean": every signal 0, "adversarial": every signal 1) the objective is

    class_loss(f_k(x'), y) - weight * relu(s_k * d(x') + kappa),    s_clean = +1, s_adversarial = -1,

where f_k is the network with its signals pinned to k and d the real router's detection logit (computed in
the same forward; pinning does not stop it). The hinge is non-saturating: its gradient does not vanish
where the router is confident (unlike log p(clean | x'), whose gradient dies once a random start saturates
the router), and it is zero once the router is kappa past the boundary on k's side, so the class loss then
has the whole step. If the router really chooses k, the real network computes f_k, so an x' that fools f_k
and routes to k fools the real network. The attack judges every iterate on the real network.

`regime_targeted_pgd(model, x, y, regime, ...)` works in train or eval mode (training can reuse it for
router-evasion examples; pass judge=False there).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from awbench.attacks import dynamic
from awbench.attacks.pgd import LOSSES, LossFn
from awbench.attacks.search import Judge, Objective, search
from awbench.threat import Norm

REGIMES = {"clean": 1.0, "adversarial": -1.0}  # sign s_k of the detection logit in the hinge
DEFAULT_KAPPA = 2.0  # logit units past the router's boundary (p(adversarial) < 0.12 for "clean")
DEFAULT_WEIGHT = 1.0


def regime_hinge(detection_logit: torch.Tensor, regime: str, kappa: float = DEFAULT_KAPPA) -> torch.Tensor:
    """relu(s_k * d + kappa) per sample: zero once the router is kappa inside regime k, linear outside."""
    if regime not in REGIMES:
        raise ValueError(f"regime must be one of {tuple(REGIMES)}, not {regime!r}")
    return F.relu(REGIMES[regime] * detection_logit + kappa)


def _router(model: nn.Module) -> object:
    router = dynamic.router_of(model)
    if router is None:
        raise ValueError("a regime-targeted attack needs a dynamic model with a router (an AW-Net)")
    return router


def regime_objective(model: nn.Module, regime: str, *, loss: str | LossFn = "cw", weight: float = DEFAULT_WEIGHT,
                     kappa: float = DEFAULT_KAPPA) -> Objective:
    """(x_adv, y) -> class loss of the network pinned to `regime` minus weight * the router hinge."""
    router = _router(model)
    loss_fn = LOSSES[loss] if isinstance(loss, str) else loss

    def objective(x_adv: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with router.pinned(regime):
            logits = model(x_adv)
        detection = dynamic.detection_logit(router, len(y))  # from the same (pinned) forward
        return loss_fn(logits, y) - weight * regime_hinge(detection, regime, kappa)

    return objective


def real_network_judge(model: nn.Module) -> Judge:
    """(x_adv, y) -> where the model as it is (dynamic, router deciding) misclassifies x_adv."""

    def judge(x_adv: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return model(x_adv).argmax(1) != y

    return judge


def regime_targeted_pgd(model: nn.Module, x: torch.Tensor, y: torch.Tensor, regime: str, *, eps: float,
                        step_size: float, steps: int, norm: Norm = Norm.LINF, start: str = "zero",
                        loss: str | LossFn = "cw", weight: float = DEFAULT_WEIGHT, kappa: float = DEFAULT_KAPPA,
                        resolution: int | None = None, judge: bool | Judge = True) -> torch.Tensor:
    """PGD on `regime_objective`; each sample keeps its first iterate that fools the real network (judge=True).

    judge=False (training): the last iterate. `resolution`: search a low-frequency subspace (see search.py).
    """
    judged: Judge | None = real_network_judge(model) if judge is True else (judge or None)
    return search(regime_objective(model, regime, loss=loss, weight=weight, kappa=kappa), x, y, eps=eps,
                  step_size=step_size, steps=steps, norm=norm, resolution=resolution, start=start, judge=judged)


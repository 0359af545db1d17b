"""Projected gradient descent (Madry et al. 2018) under Linf or L2, on cross-entropy or the CW margin.

Shared by training (the inner maximisation) and evaluation. Gradients are taken with respect to the input
only (`torch.autograd.grad`), so no parameter gradient is accumulated, and nothing is detached inside the
model: a dynamic model's router is attacked as part of the model.

`early_stop=True` (what evaluation uses) lets a sample leave the batch at the first iterate that the model
misclassifies; that iterate is returned for it. Its trajectory up to then is the one plain PGD follows, so
the attack is never weaker than plain PGD (which reports the last iterate only) and costs less.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from awbench.attacks.base import Attack, register_attack, require_positive
from awbench.errors import AwbenchError
from awbench.threat import Norm

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (logits, labels) -> per-sample loss


def cross_entropy_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits, labels, reduction="none")


def cw_margin_loss(logits: torch.Tensor, labels: torch.Tensor, kappa: float = 50.0) -> torch.Tensor:
    """Carlini-Wagner margin: best wrong logit minus the true logit (clipped at kappa), to be maximised."""
    true = logits.gather(1, labels[:, None]).squeeze(1)
    wrong = logits.masked_fill(F.one_hot(labels, logits.shape[1]).bool(), float("-inf")).amax(1)
    return (wrong - true).clamp(max=kappa)


LOSSES: dict[str, LossFn] = {"ce": cross_entropy_loss, "cw": cw_margin_loss}


def _flat_norm(t: torch.Tensor) -> torch.Tensor:
    return t.flatten(1).norm(dim=1).view(-1, *([1] * (t.dim() - 1)))


def project(x_adv: torch.Tensor, x: torch.Tensor, eps: float, norm: Norm) -> torch.Tensor:
    """Project `x_adv` onto the eps-ball around `x` intersected with the [0, 1] box."""
    if norm is Norm.LINF:
        x_adv = torch.max(torch.min(x_adv, x + eps), x - eps)
    else:
        delta = x_adv - x
        scale = (eps / _flat_norm(delta).clamp_min(1e-12)).clamp(max=1.0)
        x_adv = x + delta * scale
    return x_adv.clamp(0.0, 1.0)


def random_start(x: torch.Tensor, eps: float, norm: Norm) -> torch.Tensor:
    if norm is Norm.LINF:
        noise = torch.empty_like(x).uniform_(-eps, eps)
    else:
        direction = torch.randn_like(x)
        radius = torch.rand(x.shape[0], *([1] * (x.dim() - 1)), device=x.device, dtype=x.dtype)
        noise = direction / _flat_norm(direction).clamp_min(1e-12) * radius * eps
    return project(x + noise, x, eps, norm)


def _ascent_direction(grad: torch.Tensor, norm: Norm) -> torch.Tensor:
    return grad.sign() if norm is Norm.LINF else grad / _flat_norm(grad).clamp_min(1e-12)


def ascend(model: nn.Module, x: torch.Tensor, y: torch.Tensor, x_adv: torch.Tensor, *, eps: float,
           step_size: float, steps: int, norm: Norm, loss_fn: LossFn, early_stop: bool = False) -> torch.Tensor:
    """`steps` projected ascent steps on loss_fn(model(x_adv), y).sum() from the start `x_adv`, kept in the
    `eps`-ball around `x`; with early_stop (y then being labels), fooled samples leave the batch.

    `y` is whatever `loss_fn` takes as its target: labels for PGD, clean probabilities for TRADES' KL.
    """
    result = x_adv.clone() if early_stop else x_adv
    active = torch.arange(len(x), device=x.device)
    for _ in range(steps):
        x_adv.requires_grad_(True)
        logits = model(x_adv)
        (grad,) = torch.autograd.grad(loss_fn(logits, y).sum(), x_adv)
        with torch.no_grad():
            x_adv = x_adv.detach()
            if early_stop:
                fooled = logits.argmax(1) != y
                if fooled.any():
                    result[active[fooled]] = x_adv[fooled]
                    keep = ~fooled
                    if not keep.any():
                        return result
                    active, x, y, x_adv, grad = active[keep], x[keep], y[keep], x_adv[keep], grad[keep]
            x_adv = project(x_adv + step_size * _ascent_direction(grad, norm), x, eps, norm)
    if not early_stop:
        return x_adv
    result[active] = x_adv
    return result


def pgd(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float,
    step_size: float,
    steps: int,
    norm: Norm = Norm.LINF,
    loss: str | LossFn = "ce",
    random_init: bool = True,
    restarts: int = 1,
    early_stop: bool = False,
) -> torch.Tensor:
    """Return adversarial examples maximising `loss`; with restarts, keep per sample the first that fools.

    The model's train/eval mode is left as the caller set it. `loss` is a name in LOSSES or a function
    (logits, labels) -> per-sample loss. With `early_stop`, a sample stops at its first misclassified
    iterate (see the module docstring) and later restarts only attack samples not fooled yet.
    """
    loss_fn = LOSSES[loss] if isinstance(loss, str) else loss
    x = x.detach()
    if steps == 0:
        return x.clone()
    best = x.clone()
    todo = torch.arange(len(x), device=x.device)
    for restart in range(max(1, restarts)):
        xs, ys = x[todo], y[todo]
        start = random_start(xs, eps, norm) if random_init else xs.clone()
        x_adv = ascend(model, xs, ys, start, eps=eps, step_size=step_size, steps=steps, norm=norm,
                       loss_fn=loss_fn, early_stop=early_stop)
        if restarts <= 1:
            return x_adv
        with torch.no_grad():
            best[todo] = x_adv  # a sample never fooled keeps its latest try
            if restart + 1 < restarts:
                todo = todo[model(x_adv).argmax(1) == ys]
                if not len(todo):
                    break
    return best


def default_step_size(eps: float, steps: int) -> float:
    """eps/4 (2/255 at 8/255, the usual PGD-20 setting); 2.5*eps/steps when fewer than 10 steps."""
    return max(eps / 4, 2.5 * eps / max(steps, 1))


@dataclass(frozen=True)
class PGDOptions:
    """The knobs of the PGD-based attacks (pgd, cw, adaptive)."""

    steps: int = 20  # gradient steps per restart
    step_size: float | None = None  # None: default_step_size(eps, steps)
    restarts: int = 1
    random_start: bool = True
    early_stop: bool = True  # a sample stops at its first fooling iterate (never weaker, see the module)

    def validate(self) -> None:
        require_positive("steps", self.steps)
        require_positive("restarts", self.restarts)
        if self.step_size is not None and not 0 < float(self.step_size) <= 1:
            raise AwbenchError(f"--step-size must lie in (0, 1], got {self.step_size}")


class GradientAttack(Attack):
    """Shared by the PGD-based attacks: their options and the settings written into the summary."""

    Options = PGDOptions
    options: PGDOptions
    loss: str = "ce"

    @property
    def step_size(self) -> float:
        return self.options.step_size or default_step_size(self.threat.eps, self.options.steps)

    def pgd(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, loss: str | LossFn | None = None,
            early_stop: bool | None = None) -> torch.Tensor:
        options = self.options
        return pgd(model, x, y, eps=self.threat.eps, step_size=self.step_size, steps=options.steps,
                   norm=self.threat.norm, loss=loss or self.loss, random_init=options.random_start,
                   restarts=options.restarts, early_stop=options.early_stop if early_stop is None else early_stop)

    def describe(self) -> dict[str, Any]:
        options = self.options
        return {"steps": options.steps, "step_size": self.step_size, "restarts": options.restarts,
                "random_start": options.random_start, "early_stop": options.early_stop, "loss": self.loss}

    def label(self) -> str:
        steps, restarts = int(self.options.steps), int(self.options.restarts)
        repeated = f" x {restarts} restarts" if restarts > 1 else ""
        return f"{self.name} ({steps} step{'s' if steps != 1 else ''}{repeated})"


@register_attack("pgd", cost=20)
class PGD(GradientAttack):
    """PGD on cross-entropy (Madry et al.): --steps, --step-size, --restarts, random start."""

    def perturb(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.pgd(model, x, y)

"""APGD-CE and APGD-DLR-targeted (Croce & Hein 2020) through a whole dynamic network, on a composite loss.

pyautoattack's own classes do the work (`APGDAttack`, `APGDAttack_targeted`: step-size schedule, momentum,
restarts, targets). Their loss is chosen by name inside `attack_single_run`, but the DLR losses are
methods, so a composite loss is a subclass that overrides one method:
  * APGD-CE + term runs as APGD's "dlr" loss, whose method returns CE + term;
  * APGD-DLR-targeted + term overrides `dlr_loss_targeted`.
`term(n)` adds a per-sample value computed from the same forward (e.g. minus the router hinge of
awbench.attacks.regime, read from the AW-Net's last detection logit). Without a term the plain classes run
unchanged, so this is exactly AutoAttack's APGD. The model is the real network, router included and
differentiated; APGD judges its own iterates on it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from awbench.threat import Norm

Term = Callable[[int], torch.Tensor]  # n -> [n] value added to the loss, from the model's most recent forward
LOSSES = ("ce", "dlr-targeted")
# APGD's zero-gradient warnings inside the suite: a saturated router gives zero gradients by design, which is
# what the suite's other candidates are for; they would only clutter the console, so they are not printed.
LOGGER = logging.getLogger("awbench.apgd")
LOGGER.addHandler(logging.NullHandler())
LOGGER.propagate = False


def _classes() -> tuple[type, type]:
    from pyautoattack.autopgd_base import APGDAttack, APGDAttack_targeted

    class CompositeAPGD(APGDAttack):
        """APGD on CE + term (through APGD's 'dlr' slot, the loss it lets a subclass define)."""

        def __init__(self, predict: nn.Module, *, term: Term, **kwargs):
            super().__init__(predict, loss="dlr", **kwargs)
            self.term = term

        def dlr_loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return F.cross_entropy(logits, y, reduction="none") + self.term(len(y))

    class CompositeAPGDTargeted(APGDAttack_targeted):
        """APGD on targeted DLR + term."""

        def __init__(self, predict: nn.Module, *, term: Term, **kwargs):
            super().__init__(predict, **kwargs)
            self.term = term

        def dlr_loss_targeted(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return super().dlr_loss_targeted(logits, y) + self.term(len(y))

    return CompositeAPGD, CompositeAPGDTargeted


def build_apgd(model: nn.Module, *, loss: str, eps: float, norm: Norm, n_iter: int, restarts: int = 1,
               seed: int = 0, term: Term | None = None, n_target_classes: int = 9,
               device: torch.device | None = None) -> object:
    """A pyautoattack APGD object (plain when `term` is None, else the composite subclass)."""
    from pyautoattack.autopgd_base import APGDAttack, APGDAttack_targeted

    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, not {loss!r}")
    common = {"n_iter": n_iter, "norm": norm.value, "n_restarts": restarts, "eps": eps, "seed": seed,
              "device": device, "logger": LOGGER}
    composite, composite_targeted = _classes()
    if loss == "ce":
        if term is None:
            return APGDAttack(model, loss="ce", **common)
        return composite(model, term=term, **common)
    common["n_target_classes"] = n_target_classes
    if term is None:
        return APGDAttack_targeted(model, **common)
    return composite_targeted(model, term=term, **common)


def apgd(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, loss: str = "ce", eps: float, norm: Norm = Norm.LINF,
         n_iter: int = 100, restarts: int = 1, seed: int = 0, term: Term | None = None,
         n_target_classes: int = 9) -> torch.Tensor:
    """Adversarial examples from APGD (samples it cannot fool come back unchanged, as in AutoAttack).

    APGD seeds torch's global generator; the caller's generator state is restored afterwards.
    """
    attack = build_apgd(model, loss=loss, eps=eps, norm=norm, n_iter=n_iter, restarts=restarts, seed=seed,
                        term=term, n_target_classes=min(n_target_classes, _classes_of(model, x) - 1),
                        device=x.device)
    devices = [x.device] if x.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), torch.enable_grad():
        # pyautoattack views input gradients (grad.view): a channels_last input (the evaluation's on CUDA) breaks it
        return attack.perturb(x.detach().contiguous(), y).detach()


def _classes_of(model: nn.Module, x: torch.Tensor) -> int:
    with torch.no_grad():
        return int(model(x[:1]).shape[1])

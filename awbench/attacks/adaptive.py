"""`adaptive`: the attacks a dynamic defense (AW-Net) must face, beyond plain white-box PGD.

Two attacks per sample, the worse (for the model) of the two is kept:
1. Router-aware PGD on the real network: maximise CE(f(x'), y) + beta * softplus(-d(x')), where d is the
   router's detection logit, i.e. CE minus beta * log p(adversarial | x'): the perturbation both fools the
   classifier and pushes the router towards "clean" (so the input is processed by the clean weights).
   Gradients flow through the router; nothing is detached.
2. Transfer from the router-pinned network: PGD (CE) crafted on the same network with its router pinned to
   "clean", then judged on the real dynamic network.
The evaluation runs this attack automatically beside the asked ones whenever the model is an AW-Net.

Note: the router term saturates where the router is confident (gradient -(1 - p) -> 0 as p(adv) -> 1);
that is the objective the AW-Net paper's evaluation describes, kept as specified. `beta` sets its weight.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from awbench.attacks import dynamic
from awbench.attacks.base import AttackOutput, register_attack
from awbench.attacks.pgd import GradientAttack
from awbench.errors import AwbenchError


def _detection_logit(router: Any, n: int) -> torch.Tensor:
    return router.last_detection_logit.reshape(n, -1)[:, 0]


@register_attack("adaptive", cost=45)
class Adaptive(GradientAttack):
    """Router-aware PGD + transfer from the router-pinned network (AW-Net only)."""

    def check_model(self, model: nn.Module) -> None:
        if dynamic.router_of(model) is None:
            raise AwbenchError("the adaptive attack needs a dynamic model with a router (an AW-Net); "
                               "this model has none (use pgd / autoattack)")

    def run(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> AttackOutput:
        router = dynamic.router_of(model)
        beta = self.options.beta

        def router_aware_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
            detection = _detection_logit(router, len(labels))  # from the forward that produced `logits`
            return F.cross_entropy(logits, labels, reduction="none") + beta * F.softplus(-detection)

        x_aware = self.pgd(model, x, y, loss=router_aware_loss)
        with router.pinned("clean"):
            # Early stop would judge on the pinned network, which is not the one under test: run all steps.
            x_transfer = self.pgd(model, x, y, loss="ce", early_stop=False)
        with torch.no_grad():
            aware_fooled = model(x_aware).argmax(1) != y
            aware_detection = _detection_logit(router, len(y)).float()
            transfer_fooled = model(x_transfer).argmax(1) != y
            transfer_detection = _detection_logit(router, len(y)).float()
            take_transfer = transfer_fooled & ~aware_fooled
            x_adv = torch.where(take_transfer.view(-1, *[1] * (x.dim() - 1)), x_transfer, x_aware)
            p_adversarial = torch.sigmoid(torch.where(take_transfer, transfer_detection, aware_detection))
        return AttackOutput(x_adv, extras={
            "survived_router_aware": (~aware_fooled).float(),
            "survived_transfer": (~transfer_fooled).float(),
            "p_adversarial": p_adversarial,
        })

    def summarize(self, extras: dict[str, torch.Tensor], n_examples: int) -> dict[str, Any]:
        if not len(extras.get("p_adversarial", [])):
            return {}
        return {
            "router_aware_accuracy": float(extras["survived_router_aware"].sum()) / n_examples,
            "transfer_accuracy": float(extras["survived_transfer"].sum()) / n_examples,
            "mean_p_adversarial_on_attacked": float(extras["p_adversarial"].mean()),
        }

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "loss": "ce + beta * softplus(-detection_logit); transfer: ce, router pinned "
                "to clean", "beta": self.options.beta}

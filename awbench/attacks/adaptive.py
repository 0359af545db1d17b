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
from awbench.attacks.base import Attack, AttackOutput, register_attack
from awbench.attacks.pgd import default_step_size, pgd
from awbench.errors import AwbenchError


def _detection_logit(router: Any, n: int) -> torch.Tensor:
    return router.last_detection_logit.reshape(n, -1)[:, 0]


@register_attack("adaptive", cost=45)
class Adaptive(Attack):
    """Router-aware PGD + transfer from the router-pinned network (AW-Net only)."""

    def check_model(self, model: nn.Module) -> None:
        if dynamic.router_of(model) is None:
            raise AwbenchError("the adaptive attack needs a dynamic model with a router (an AW-Net); "
                               "this model has none (use pgd / autoattack)")

    def _pgd(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: Any, early_stop: bool) -> torch.Tensor:
        options = self.options
        return pgd(model, x, y, eps=self.threat.eps, steps=options.steps, norm=self.threat.norm, loss=loss,
                   step_size=options.step_size or default_step_size(self.threat.eps, options.steps),
                   random_init=options.random_start, restarts=options.restarts, early_stop=early_stop)

    def run(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> AttackOutput:
        router = dynamic.router_of(model)
        beta = self.options.beta

        def router_aware_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
            detection = _detection_logit(router, len(labels))  # from the forward that produced `logits`
            return F.cross_entropy(logits, labels, reduction="none") + beta * F.softplus(-detection)

        x_aware = self._pgd(model, x, y, router_aware_loss, early_stop=True)
        with router.pinned("clean"):
            # Early stop would judge on the pinned network, which is not the one under test: run all steps.
            x_transfer = self._pgd(model, x, y, "ce", early_stop=False)
        with torch.no_grad():
            aware_fooled = model(x_aware).argmax(1) != y
            transfer_fooled = model(x_transfer).argmax(1) != y
            take_transfer = transfer_fooled & ~aware_fooled
            x_adv = torch.where(take_transfer.view(-1, *[1] * (x.dim() - 1)), x_transfer, x_aware)
            model(x_adv)
            p_adversarial = torch.sigmoid(_detection_logit(router, len(y)).float())
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
        options = self.options
        return {"steps": options.steps, "restarts": options.restarts, "beta": options.beta,
                "random_start": options.random_start,
                "step_size": options.step_size or default_step_size(self.threat.eps, options.steps)}

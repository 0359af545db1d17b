"""`adaptive`: the attacks a dynamic defense (AW-Net) must face, beyond plain white-box PGD.

Three attacks per sample; the first that fools the model is kept:
1. Router-aware PGD on the real network: maximise CE(f(x'), y) + beta * softplus(-d(x')), where d is the
   router's detection logit, i.e. CE minus beta * log p(adversarial | x'): the perturbation both fools the
   classifier and pushes the router towards "clean" (so the input is processed by the clean weights).
   Gradients flow through the router; nothing is detached.
2. The same with the CW margin in place of CE. On the zoo's AW-Net (78 clean-correct CIFAR-10 images, 20
   steps) a review measured 16 survivors with the margin against 22 with CE alone: CE's gradient fades
   where the model is confident, the margin's does not.
3. Transfer from the router-pinned network: PGD (CE) crafted on the same network with its router pinned to
   "clean", then judged on the real dynamic network.
Stronger still, on that model: APGD (`-a autoattack`), which left 8 of the 78; the evaluation's `dynamic`
flag says to run it beside this attack.
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
from awbench.attacks.pgd import LOSSES, GradientAttack
from awbench.errors import AwbenchError


def _detection_logit(router: Any, n: int) -> torch.Tensor:
    return router.last_detection_logit.reshape(n, -1)[:, 0]


@register_attack("adaptive", cost=65)
class Adaptive(GradientAttack):
    """Router-aware PGD (CE and CW margin) + transfer from the router-pinned network (AW-Net only)."""

    def check_model(self, model: nn.Module) -> None:
        if dynamic.router_of(model) is None:
            raise AwbenchError("the adaptive attack needs a dynamic model with a router (an AW-Net); "
                               "this model has none (use pgd / autoattack)")

    def run(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> AttackOutput:
        router = dynamic.router_of(model)
        beta = self.options.beta

        def router_aware(loss: Any) -> Any:
            def objective(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
                detection = _detection_logit(router, len(labels))  # from the forward that produced `logits`
                return loss(logits, labels) + beta * F.softplus(-detection)
            return objective

        candidates = {"router_aware": self.pgd(model, x, y, loss=router_aware(LOSSES["ce"])),
                      "router_aware_margin": self.pgd(model, x, y, loss=router_aware(LOSSES["cw"]))}
        with router.pinned("clean"):
            # Early stop would judge on the pinned network, which is not the one under test: run all steps.
            candidates["transfer"] = self.pgd(model, x, y, loss="ce", early_stop=False)
        with torch.no_grad():
            fooled, detections = [], []
            for candidate in candidates.values():
                fooled.append(model(candidate).argmax(1) != y)
                detections.append(_detection_logit(router, len(y)).float())
            fooled, detections = torch.stack(fooled), torch.stack(detections)  # [candidate, sample]
            chosen = fooled.int().argmax(0)  # per sample, the first candidate that fools it (none: the first)
            samples = torch.arange(len(y), device=y.device)
            x_adv = torch.stack(list(candidates.values()))[chosen, samples]
            detection = detections[chosen, samples]
        extras = {f"survived_{name}": (~flags).float() for name, flags in zip(candidates, fooled)}
        return AttackOutput(x_adv, extras={**extras, "p_adversarial": torch.sigmoid(detection)})

    def summarize(self, extras: dict[str, torch.Tensor], n_examples: int) -> dict[str, Any]:
        if not len(extras.get("p_adversarial", [])):
            return {}
        return {
            "router_aware_accuracy": float(extras["survived_router_aware"].sum()) / n_examples,
            "router_aware_margin_accuracy": float(extras["survived_router_aware_margin"].sum()) / n_examples,
            "transfer_accuracy": float(extras["survived_transfer"].sum()) / n_examples,
            "mean_p_adversarial_on_attacked": float(extras["p_adversarial"].mean()),
        }

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "loss": "ce and cw margin, each + beta * softplus(-detection_logit); "
                "transfer: ce, router pinned to clean", "beta": self.options.beta}

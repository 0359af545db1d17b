"""`cw-l2`: foolbox 3's L2CarliniWagnerAttack (Carlini & Wagner 2017), a thin adapter.

C&W minimises the L2 norm of a perturbation that fools the model. We report (a) success at --eps: the
perturbation found is clipped to the eps-ball (foolbox's own clipping) and the model judged on that, and
(b) the median L2 norm of the perturbations found (over attacked samples where one was found).
Options (CarliniWagnerL2Options): cw_l2_steps Adam steps per binary-search step, cw_l2_binary_search_steps,
cw_l2_stepsize (prefixed: they share the keyword namespace of `evaluate_checkpoint` with PGD's `steps`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from awbench.attacks.base import Attack, AttackOutput, register_attack, require_positive
from awbench.errors import AwbenchError
from awbench.threat import Norm


@dataclass(frozen=True)
class CarliniWagnerL2Options:
    cw_l2_steps: int = 100  # Adam steps per binary-search step
    cw_l2_binary_search_steps: int = 5
    cw_l2_stepsize: float = 0.01  # Adam learning rate

    def validate(self) -> None:
        require_positive("cw_l2_steps", self.cw_l2_steps)
        require_positive("cw_l2_binary_search_steps", self.cw_l2_binary_search_steps)


@register_attack("cw-l2", cost=500)
class CarliniWagnerL2(Attack):
    """foolbox L2CarliniWagnerAttack; success at eps and the median L2 norm found."""

    Options = CarliniWagnerL2Options
    options: CarliniWagnerL2Options

    def validate(self) -> None:
        if self.threat.norm is not Norm.L2:
            raise AwbenchError("cw-l2 finds L2 perturbations: use it with --norm L2 (e.g. --eps 0.5)")

    def run(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> AttackOutput:
        import foolbox

        options = self.options
        x = x.contiguous()  # a library may reshape input gradients with `view` (channels_last breaks that)
        fmodel = foolbox.PyTorchModel(model, bounds=(0.0, 1.0), device=x.device)
        attack = foolbox.attacks.L2CarliniWagnerAttack(
            binary_search_steps=options.cw_l2_binary_search_steps, steps=options.cw_l2_steps,
            stepsize=options.cw_l2_stepsize, confidence=0.0, initial_const=1e-3, abort_early=True)
        raw, clipped, _ = attack(fmodel, x, y, epsilons=[self.threat.eps])
        raw, clipped = raw[0], clipped[0]
        with torch.no_grad():
            # foolbox starts its best-so-far at an all-zero image and returns that where it found nothing
            found = (model(raw).argmax(1) != y) & (raw.flatten(1).abs().amax(1) > 0)
            norms = (raw - x).flatten(1).norm(dim=1)
        return AttackOutput(clipped, extras={"l2_norm": torch.where(found, norms, torch.full_like(norms, -1.0))})

    def summarize(self, extras: dict[str, torch.Tensor], n_examples: int) -> dict[str, Any]:
        norms = extras.get("l2_norm", torch.empty(0))
        found = norms[norms >= 0]
        return {
            "median_l2_found": float(found.median()) if len(found) else None,
            "found_fraction_of_attacked": float(len(found) / len(norms)) if len(norms) else None,
        }

    def describe(self) -> dict[str, Any]:
        options = self.options
        return {"steps": options.cw_l2_steps, "binary_search_steps": options.cw_l2_binary_search_steps,
                "stepsize": options.cw_l2_stepsize, "confidence": 0.0, "initial_const": 1e-3}

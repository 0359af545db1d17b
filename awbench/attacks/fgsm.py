"""`fgsm`: the fast gradient sign method (Goodfellow et al. 2015): one full-budget step, no random start.

Under L2 the step follows the L2-normalised gradient ("fast gradient method").
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from awbench.attacks.base import Attack, register_attack
from awbench.attacks.pgd import pgd


@register_attack("fgsm", cost=1)
class FGSM(Attack):
    """One step of size eps along the sign (Linf) or direction (L2) of the cross-entropy gradient."""

    def perturb(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return pgd(model, x, y, eps=self.threat.eps, step_size=self.threat.eps, steps=1, norm=self.threat.norm,
                   loss="ce", random_init=False)

    def describe(self) -> dict[str, Any]:
        return {"steps": 1, "step_size": self.threat.eps, "loss": "ce"}

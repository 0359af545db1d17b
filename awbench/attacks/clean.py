"""`clean`: no perturbation; its robust accuracy is the clean accuracy of the selected examples."""

from __future__ import annotations

import torch
from torch import nn

from awbench.attacks.base import Attack, register_attack


@register_attack("clean", cost=0)
class Clean(Attack):
    """The unperturbed images (a baseline row in the table, and a check of the pipeline)."""

    def perturb(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return x.clone()

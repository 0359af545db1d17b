"""PGD adversarial training (Madry et al., ICLR 2018): cross-entropy on PGD examples only."""

import torch
import torch.nn.functional as F

from awbench.training.methods.base import StepResult, TrainingMethod, frozen
from awbench.training.methods.registry import register_method


@register_method("pgd-at")
class PGDAT(TrainingMethod):
    def step(self, model, x, y):
        x_adv = self.attack(model, x, y)
        adv_logits = model(x_adv)
        with torch.no_grad(), frozen(model) as plain:  # clean accuracy for the log only: no BN update
            clean_logits = plain(x)
        return StepResult(F.cross_entropy(adv_logits, y), clean_logits, adv_logits)

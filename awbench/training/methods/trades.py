"""TRADES (Zhang et al., ICML 2019): CE(clean) + beta * KL(p(x) || p(x_adv)).

The inner attack maximises the same KL, started from a small Gaussian perturbation as in the paper's code.
Clean and adversarial examples go through the model as two batches, as in the authors' code: batch norm
normalises each with its own statistics (one concatenated batch would mix them).
"""

import torch
import torch.nn.functional as F

from awbench.attacks.pgd import ascend, project
from awbench.training.methods.base import StepResult, TrainingMethod, frozen
from awbench.training.methods.registry import register_method


def _kl_per_sample(adv_logits: torch.Tensor, clean_probs: torch.Tensor) -> torch.Tensor:
    """KL(p(x) || p(x_adv)) per sample."""
    return F.kl_div(F.log_softmax(adv_logits, dim=1), clean_probs, reduction="none").sum(1)


@register_method("trades")
class TRADES(TrainingMethod):
    def _kl_attack(self, model, x):
        with frozen(model) as plain:
            with torch.no_grad():
                clean_probs = F.softmax(plain(x), dim=1)
            start = project(x + 0.001 * torch.randn_like(x), x, self.config.eps, self.norm)
            return ascend(plain, x, clean_probs, start, eps=self.config.eps, step_size=self.config.step_size,
                          steps=self.config.steps, norm=self.norm, loss_fn=_kl_per_sample).detach()

    def step(self, model, x, y):
        x_adv = self._kl_attack(model, x)
        clean_logits, adv_logits = model(x), model(x_adv)  # separate batches, as TRADES' code normalises them
        natural = F.cross_entropy(clean_logits, y)
        robust = F.kl_div(F.log_softmax(adv_logits, dim=1), F.softmax(clean_logits, dim=1), reduction="batchmean")
        return StepResult(natural + self.config.beta * robust, clean_logits, adv_logits)

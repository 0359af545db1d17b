"""MART (Wang et al., ICLR 2020): boosted CE on adversarial examples + beta * KL weighted by (1 - p_y(x)).

Misclassified clean examples get more weight in the regulariser, as in the paper's Eq. (8). Clean and
adversarial examples go through the model as two batches (as in the authors' code): batch norm normalises
each with its own statistics.
"""

import torch
import torch.nn.functional as F

from awbench.training.methods.base import StepResult, TrainingMethod
from awbench.training.methods.registry import register_method


@register_method("mart")
class MART(TrainingMethod):
    def step(self, model, x, y):
        x_adv = self.attack(model, x, y)
        clean_logits, adv_logits = model(x), model(x_adv)  # separate batches, as MART's code normalises them
        adv_probs = F.softmax(adv_logits, dim=1)
        # boosted CE: CE plus -log(1 - max wrong-class probability)
        top2 = adv_probs.argsort(dim=1)[:, -2:]
        best_wrong = torch.where(top2[:, -1] == y, top2[:, -2], top2[:, -1])
        boosted = F.cross_entropy(adv_logits, y) + F.nll_loss(torch.log(1.0001 - adv_probs + 1e-12), best_wrong)
        clean_probs = F.softmax(clean_logits, dim=1)
        true_clean = clean_probs.gather(1, y[:, None]).squeeze(1)
        kl = (F.kl_div(torch.log(adv_probs + 1e-12), clean_probs, reduction="none").sum(1) * (1.0000001 - true_clean))
        return StepResult(boosted + self.config.beta * kl.mean(), clean_logits, adv_logits)

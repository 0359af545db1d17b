"""Standard (clean) training: cross-entropy on natural images."""

import torch.nn.functional as F

from awbench.training.methods.base import StepResult, TrainingMethod
from awbench.training.methods.registry import register_method


@register_method("standard")
class Standard(TrainingMethod):
    adversarial = False

    def step(self, model, x, y):
        logits = model(x)
        return StepResult(F.cross_entropy(logits, y), logits)

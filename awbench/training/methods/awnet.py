"""AW-Net training: L = L_clean + L_adv + router_weight * BCE(router detection, is_adversarial).

The PGD training examples are made against the whole AW-Net, router included (TrainingMethod.attack; nothing
is detached). The clean and adversarial batches then go through the network together as [clean; adversarial]
inside `awnet.split_batch`, so each half is normalised by its own MixBN branch, and the router's detection
head learns to tell the halves apart.

Without teachers L_clean and L_adv are cross-entropies. With `clean_teacher` and `robust_teacher` (checkpoint
paths; loaded frozen, in eval mode) they are MTARD's (Zhao et al., ECCV 2022) distillation terms
    w_clean * KL(student(x) || clean_teacher(x)) + w_adv * KL(student(x_adv) || robust_teacher(x_adv))
with weights starting at 0.5 / 0.5 and, each step, w_clean <- w_clean - rate * (w_clean - l_clean / (l_clean +
l_adv)), w_adv = 1 - w_clean, where l_* is each KL divided by its value at the first step (rate 0.025): the
term that has improved less gains weight. Deviations from MTARD's code: KL is averaged per sample
(`batchmean`, the true KL) rather than per logit, which rescales both terms alike and leaves the weights
unchanged; the weight rate is kept constant rather than divided by 10 at each lr decay (a method does not see
the schedule). The weights and initial losses are part of state_dict(), so a resumed run continues them.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from awbench import checkpoint
from awbench.errors import AwbenchError
from awbench.training.config import TrainConfig
from awbench.training.methods.base import StepResult, TrainingMethod
from awbench.training.methods.registry import register_method
from model_zoo.aw import AWNet, routing


def _frozen_teacher(path: str, device: torch.device) -> nn.Module:
    teacher, _ = checkpoint.load(path, device=device)
    return teacher.eval().requires_grad_(False)


def _distillation_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    return F.kl_div(F.log_softmax(student_logits.float(), dim=1), F.softmax(teacher_logits.float(), dim=1),
                    reduction="batchmean")


@register_method("awnet")
class AWNetTraining(TrainingMethod):
    weight_rate = 0.025  # MTARD's adaptation rate of the two distillation weights

    def __init__(self, config: TrainConfig, device: torch.device):
        super().__init__(config, device)
        if (config.clean_teacher is None) != (config.robust_teacher is None):
            raise AwbenchError("MTARD distillation needs both --clean-teacher and --robust-teacher (or neither)")
        self.clean_teacher = self.robust_teacher = None
        if config.clean_teacher is not None:
            self.clean_teacher = _frozen_teacher(config.clean_teacher, device)
            self.robust_teacher = _frozen_teacher(config.robust_teacher, device)
        self.weight_clean, self.weight_adv = 0.5, 0.5
        self.initial_loss_clean: float | None = None
        self.initial_loss_adv: float | None = None

    @property
    def distills(self) -> bool:
        return self.clean_teacher is not None

    def _awnet(self, model: nn.Module) -> AWNet:
        awnet = routing(model)
        if awnet is None:
            raise AwbenchError("the awnet method trains AW-Net models only: choose an aw-* model "
                               "(e.g. aw-resnet18), not a static one")
        return awnet

    def step(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> StepResult:
        awnet = self._awnet(model)
        x_adv = self.attack(model, x, y)
        with awnet.split_batch(len(x)):
            logits = model(torch.cat([x, x_adv]))
        clean_logits, adv_logits = logits[: len(x)], logits[len(x):]
        detection_logit = awnet.last_detection_logit.float()
        is_adversarial = torch.cat([torch.zeros(len(x)), torch.ones(len(x_adv))]).to(detection_logit.device)
        router_loss = F.binary_cross_entropy_with_logits(detection_logit, is_adversarial)
        stats = {"router_acc": ((detection_logit > 0).float() == is_adversarial).float().mean().item(),
                 "router_bce": router_loss.item()}
        if self.distills:
            task_loss = self._distillation_loss(x, x_adv, clean_logits, adv_logits, stats)
        else:
            task_loss = F.cross_entropy(clean_logits, y) + F.cross_entropy(adv_logits, y)
        loss = task_loss + self.config.router_weight * router_loss
        return StepResult(loss, clean_logits, adv_logits, stats)

    def _distillation_loss(self, x: torch.Tensor, x_adv: torch.Tensor, clean_logits: torch.Tensor,
                           adv_logits: torch.Tensor, stats: dict[str, float]) -> torch.Tensor:
        with torch.no_grad():
            clean_teacher_logits = self.clean_teacher(x)
            robust_teacher_logits = self.robust_teacher(x_adv)
        loss_clean = _distillation_kl(clean_logits, clean_teacher_logits)
        loss_adv = _distillation_kl(adv_logits, robust_teacher_logits)
        self._adapt_weights(loss_clean.item(), loss_adv.item())
        stats.update(weight_clean=self.weight_clean, kl_clean=loss_clean.item(), kl_adv=loss_adv.item())
        return self.weight_clean * loss_clean + self.weight_adv * loss_adv

    def _adapt_weights(self, loss_clean: float, loss_adv: float) -> None:
        """MTARD: move w_clean toward the clean term's share of the relative losses; w_adv = 1 - w_clean."""
        if self.initial_loss_clean is None or self.initial_loss_adv is None:
            self.initial_loss_clean, self.initial_loss_adv = loss_clean, loss_adv
        relative_clean = loss_clean / max(self.initial_loss_clean, 1e-12)
        relative_adv = loss_adv / max(self.initial_loss_adv, 1e-12)
        share_clean = relative_clean / max(relative_clean + relative_adv, 1e-12)
        self.weight_clean -= self.weight_rate * (self.weight_clean - share_clean)
        self.weight_adv = 1.0 - self.weight_clean

    def state_dict(self) -> dict[str, Any]:
        return {"weight_clean": self.weight_clean, "weight_adv": self.weight_adv,
                "initial_loss_clean": self.initial_loss_clean, "initial_loss_adv": self.initial_loss_adv}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.weight_clean = float(state.get("weight_clean", 0.5))
        self.weight_adv = float(state.get("weight_adv", 1.0 - self.weight_clean))
        self.initial_loss_clean = state.get("initial_loss_clean")
        self.initial_loss_adv = state.get("initial_loss_adv")

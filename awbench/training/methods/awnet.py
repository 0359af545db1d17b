"""AW-Net training: L = L_clean + L_adv + router_weight * BCE(router detection, is_adversarial).

Where each term comes from:
  * The network, its router and MixBN, and training clean and adversarial inputs through it end to end: AW-Net
    (Wei, Zhao, Li, TPAMI 2024, arXiv 2306.03430). The paper gives no code; the router's detection loss
    (BCE on "is this half of the batch adversarial") is our reconstruction of how its router is trained.
  * The clean and adversarial batches go through the network together as [clean; adversarial] inside
    `awnet.split_batch`, so each half is normalised by its own MixBN branch (AW-Net's MixBN).
  * Without teachers L_clean and L_adv are cross-entropies (our default; the AW-Net paper distils).
  * With `clean_teacher` and `robust_teacher` (checkpoint paths; loaded frozen, in eval mode) they are MTARD's
    (Zhao et al., "Enhanced Accuracy and Robustness via Multi-Teacher Adversarial Distillation", ECCV 2022; the
    AW-Net authors' own method) distillation terms
        w_clean * KL(student(x) || clean_teacher(x)) + w_adv * KL(student(x_adv) || robust_teacher(x_adv))
    with weights starting at 0.5 / 0.5 and, each step, w_clean <- w_clean - rate * (w_clean - l_clean /
    (l_clean + l_adv)), w_adv = 1 - w_clean, where l_* is each KL divided by its value at the first step (rate
    0.025): the term that has improved less gains weight ("Normalization Loss Balance" in B-MTARD).
  * As in MTARD's code (zhaoshiji123/MTARD, mtard_resnet18_cifar10.py / mtard_loss.py): the inner PGD starts from
    x + 0.001 * N(0, 1) (clipped to the ball and [0, 1]) rather than a uniform draw in the ball, and the weight
    rate is divided by 10 at each learning-rate decay. The method reads the decays off the run's schedule
    (`lr_decay_epochs`: an epoch whose lr is at most a fifth of the previous epoch's, i.e. the piecewise x0.1
    milestones) and the loop tells it each epoch (`start_epoch`), so a resumed run gets the same rate.
    Both apply with or without teachers (the start also keeps the router from seeing only uniform noise).
  * `temperature_balance` (with teachers): B-MTARD's Entropy-Based Balance (Zhao, Wang, Wei, "Mitigating
    Accuracy-Robustness Trade-off via Balanced Multi-Teacher Adversarial Distillation", TPAMI 2024, arXiv
    2306.16170; code zhaoshiji123/MTARD-extension). Each teacher's soft labels are softmax(logits / T); after
    each step the teacher whose predictions have the larger mean entropy cools (T -= rate) and the other warms
    (T += rate), rate 0.001 (divided by 10 at each lr decay, as the weight rate), T clipped to [1, 10], so the
    two teachers' knowledge keeps a similar scale.
  * `router_evasion` (a fraction in [0, 1], default 0): that share of each batch's adversarial examples is
    crafted by the evaluation's router-evading attacks (regime-"clean"-targeted PGD and low-frequency PGD;
    `awbench.training.methods.evasion`), the rest by the PGD above. Ours, not the paper's: motivated by
    issue 11's finding that a router trained on PGD alone is a noise-energy switch the adaptive suite evades.
    The router's detection target is "was this input perturbed": 1 for every adversarial example, whatever
    made it, 0 for the clean half.
Deviation from MTARD's code: KL is averaged per sample (`batchmean`, the true KL) rather than per logit, which
rescales both terms alike and leaves the weights unchanged. The weights, initial losses and temperatures are
part of state_dict(), so a resumed run continues them.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from awbench import checkpoint
from awbench.attacks.pgd import LOSSES, ascend, project
from awbench.errors import AwbenchError
from awbench.training.config import TrainConfig
from awbench.training.methods.base import StepResult, TrainingMethod, frozen
from awbench.training.methods.evasion import evasion_count, router_evasion_examples
from awbench.training.methods.registry import register_method
from model_zoo.aw import AWNet, routing

MTARD_START_STD = 0.001  # MTARD's inner PGD starts at x + 0.001 * N(0, 1)
DECAY_RATIO = 0.2  # an lr at most this fraction of the previous epoch's is a decay


def lr_decay_epochs(config: TrainConfig) -> list[int]:
    """The (0-based) epochs at whose start the run's learning rate decays (piecewise: its x0.1 milestones)."""
    from awbench.training.config import learning_rate_factor

    factors = [learning_rate_factor(config, epoch) for epoch in range(config.epochs)]
    return [epoch for epoch in range(1, config.epochs) if factors[epoch] <= DECAY_RATIO * factors[epoch - 1]]


def _frozen_teacher(path: str, device: torch.device) -> nn.Module:
    teacher, _ = checkpoint.load(path, device=device)
    return teacher.eval().requires_grad_(False)


def _distillation_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float = 1.0
                     ) -> torch.Tensor:
    """KL(teacher || student) per sample, the teacher's soft labels at `temperature` (the student's at 1)."""
    return F.kl_div(F.log_softmax(student_logits.float(), dim=1), F.softmax(teacher_logits.float() / temperature,
                    dim=1), reduction="batchmean")


def mean_entropy(logits: torch.Tensor, temperature: float = 1.0) -> float:
    """Mean over the batch of the entropy of softmax(logits / temperature)."""
    log_probs = F.log_softmax(logits.float() / temperature, dim=1)
    return -(log_probs.exp() * log_probs).sum(1).mean().item()


@register_method("awnet")
class AWNetTraining(TrainingMethod):
    weight_rate = 0.025  # MTARD's adaptation rate of the two distillation weights
    temperature_rate = 0.001  # B-MTARD's step of the teachers' temperatures
    temperature_range = (1.0, 10.0)  # B-MTARD's bounds of the temperatures

    def __init__(self, config: TrainConfig, device: torch.device):
        super().__init__(config, device)
        if (config.clean_teacher is None) != (config.robust_teacher is None):
            raise AwbenchError("MTARD distillation needs both --clean-teacher and --robust-teacher (or neither)")
        if config.temperature_balance and config.clean_teacher is None:
            raise AwbenchError("--temperature-balance (B-MTARD) balances teachers: give --clean-teacher and "
                               "--robust-teacher")
        self.clean_teacher = self.robust_teacher = None
        if config.clean_teacher is not None:
            self.clean_teacher = _frozen_teacher(config.clean_teacher, device)
            self.robust_teacher = _frozen_teacher(config.robust_teacher, device)
        self.weight_clean, self.weight_adv = 0.5, 0.5
        self.initial_loss_clean: float | None = None
        self.initial_loss_adv: float | None = None
        self.temperature_clean, self.temperature_adv = 1.0, 1.0
        self.decay_epochs = lr_decay_epochs(config)
        self.rate_scale = 1.0  # 0.1 ** (lr decays so far)

    @property
    def distills(self) -> bool:
        return self.clean_teacher is not None

    def start_epoch(self, epoch: int) -> None:
        """MTARD: the adaptation rates are divided by 10 at each lr decay before `epoch` (0-based) or at it."""
        self.rate_scale = 0.1 ** sum(decay <= epoch for decay in self.decay_epochs)

    def _awnet(self, model: nn.Module) -> AWNet:
        awnet = routing(model)
        if awnet is None:
            raise AwbenchError("the awnet method trains AW-Net models only: choose an aw-* model "
                               "(e.g. aw-resnet18), not a static one")
        return awnet

    def attack(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: Any = "ce") -> torch.Tensor:
        """PGD on the whole AW-Net (router included), started at x + 0.001 * N(0, 1) as in MTARD's code."""
        loss_fn = LOSSES[loss] if isinstance(loss, str) else loss
        x = x.detach()
        with frozen(model) as plain:
            start = project(x + MTARD_START_STD * torch.randn_like(x), x, self.config.eps, self.norm)
            return ascend(plain, x, y, start, eps=self.config.eps, step_size=self.config.step_size,
                          steps=self.config.steps, norm=self.norm, loss_fn=loss_fn).detach()

    def adversarial_examples(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The batch's adversarial half: its first round(router_evasion * N) router-evading, the rest PGD."""
        n_evasion = evasion_count(self.config.router_evasion, len(x))
        parts = []
        if n_evasion:
            parts.append(router_evasion_examples(model, x[:n_evasion], y[:n_evasion], eps=self.config.eps,
                                                 step_size=self.config.step_size, steps=self.config.steps,
                                                 norm=self.norm))
        if n_evasion < len(x):
            parts.append(self.attack(model, x[n_evasion:], y[n_evasion:]))
        return torch.cat(parts)

    def step(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> StepResult:
        awnet = self._awnet(model)
        x_adv = self.adversarial_examples(model, x, y)
        with awnet.split_batch(len(x)):
            logits = model(torch.cat([x, x_adv]))
        clean_logits, adv_logits = logits[: len(x)], logits[len(x):]
        detection_logit = awnet.last_detection_logit.float()
        # "was this input perturbed": 1 for every adversarial example, PGD or router-evading alike
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
        loss_clean = _distillation_kl(clean_logits, clean_teacher_logits, self.temperature_clean)
        loss_adv = _distillation_kl(adv_logits, robust_teacher_logits, self.temperature_adv)
        if self.config.temperature_balance:
            self._balance_temperatures(clean_teacher_logits, robust_teacher_logits)
            stats.update(temperature_clean=self.temperature_clean, temperature_adv=self.temperature_adv)
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
        self.weight_clean -= self.weight_rate * self.rate_scale * (self.weight_clean - share_clean)
        self.weight_adv = 1.0 - self.weight_clean

    def _balance_temperatures(self, clean_teacher_logits: torch.Tensor, robust_teacher_logits: torch.Tensor) -> None:
        """B-MTARD's Entropy-Based Balance: the teacher with more entropy cools, the other warms, by one step."""
        entropy_clean = mean_entropy(clean_teacher_logits, self.temperature_clean)
        entropy_adv = mean_entropy(robust_teacher_logits, self.temperature_adv)
        step = self.temperature_rate * self.rate_scale
        direction = (entropy_adv > entropy_clean) - (entropy_adv < entropy_clean)  # sign(H_adv - H_clean)
        low, high = self.temperature_range
        self.temperature_adv = min(high, max(low, self.temperature_adv - step * direction))
        self.temperature_clean = min(high, max(low, self.temperature_clean + step * direction))

    def state_dict(self) -> dict[str, Any]:
        return {"weight_clean": self.weight_clean, "weight_adv": self.weight_adv,
                "initial_loss_clean": self.initial_loss_clean, "initial_loss_adv": self.initial_loss_adv,
                "temperature_clean": self.temperature_clean, "temperature_adv": self.temperature_adv}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.weight_clean = float(state.get("weight_clean", 0.5))
        self.weight_adv = float(state.get("weight_adv", 1.0 - self.weight_clean))
        self.initial_loss_clean = state.get("initial_loss_clean")
        self.initial_loss_adv = state.get("initial_loss_adv")
        self.temperature_clean = float(state.get("temperature_clean", 1.0))
        self.temperature_adv = float(state.get("temperature_adv", 1.0))

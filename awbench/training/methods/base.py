"""What a training method is: a loss on one batch, computed from the model and (x, y)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from awbench.attacks.pgd import LossFn, pgd
from awbench.threat import Norm
from awbench.training.config import TrainConfig


def unwrap(model: nn.Module) -> nn.Module:
    """The plain module inside a DistributedDataParallel wrapper: attacks need no gradient synchronisation."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


@contextmanager
def frozen(model: nn.Module) -> Iterator[nn.Module]:
    """The plain module in eval mode (BN statistics neither used from the batch nor updated), for the
    forwards of an inner attack or a logged accuracy; its previous mode is restored afterwards."""
    model = unwrap(model)
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


@dataclass
class StepResult:
    loss: torch.Tensor
    clean_logits: torch.Tensor
    adv_logits: torch.Tensor | None = None  # None for methods that make no adversarial examples
    stats: dict[str, float] | None = None  # extra per-batch numbers for the progress bar and log


class TrainingMethod:
    """Base class: subclasses implement `step`. Stateful methods override state_dict/load_state_dict."""

    name = "base"
    adversarial = True

    def __init__(self, config: TrainConfig, device: torch.device):
        self.config = config
        self.device = device
        self.norm = Norm.parse(config.norm)

    def step(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> StepResult:
        raise NotImplementedError

    def start_epoch(self, epoch: int) -> None:
        """Called by the loop before each epoch (0-based; also the first epoch of a resumed run)."""
        del epoch

    def attack(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: str | LossFn = "ce") -> torch.Tensor:
        """The inner maximisation: PGD with the run's budget, model in eval mode (BN statistics frozen)."""
        with frozen(model) as plain:
            return pgd(plain, x, y, eps=self.config.eps, step_size=self.config.step_size,
                       steps=self.config.steps, norm=self.norm, loss=loss)

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        del state

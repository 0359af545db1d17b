"""Toy router-switched networks with known weak spots, for the adaptive suite's component tests.

Images are 3 x 8 x 8 and class k (of 4) is written twice: channel 0 holds 0.2 + 0.2k (classes 0.2 apart, far
beyond eps = 8/255: the "robust" branch reads it) and channel 1 holds 0.5 + 0.025k (0.025 apart, within
eps: the "vulnerable" branch reads it, through pixel weights `1 + pattern * checkerboard`, which sum to the
plain mean on a constant channel). The router is a noise-energy switch like AW-Net's: detection logit
d = gain * (mean squared high-frequency residual - threshold), signal r = sigmoid(d), and the output is
(1 - r) * clean_branch + r * adversarial_branch. Which branch is vulnerable, the threshold and the
checkerboard make the cases. Its router has the Router's interface (signal_heads, detection_head,
head_sizes), so straight-through softening can hook it.
"""

from __future__ import annotations

import torch
from torch import nn

from model_zoo.aw import AWNet
from model_zoo.aw.router import high_frequency_residual

CLASSES, SIZE = 4, 8
EPS = 8 / 255


def toy_images(per_class: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    labels = torch.arange(CLASSES).repeat_interleave(per_class)
    x = torch.full((len(labels), 3, SIZE, SIZE), 0.5)
    x[:, 0] = (0.2 + 0.2 * labels.float())[:, None, None]
    x[:, 1] = (0.5 + 0.025 * labels.float())[:, None, None]
    return x, labels


def noise_energy(x: torch.Tensor) -> torch.Tensor:
    """The mean squared high-frequency residual: 0 on the toy's constant images, ~3e-4 under +-eps noise."""
    return high_frequency_residual(x).pow(2).flatten(1).mean(1, keepdim=True)


def darkness(x: torch.Tensor) -> torch.Tensor:
    """0.5 minus channel 2's mean: 0 on the toy's images; a smooth brightening of channel 2 lowers it."""
    return 0.5 - x[:, 2].flatten(1).mean(1, keepdim=True)


class ToyRouter(nn.Module):
    """detection = gain * (feature(x) - threshold); feature: noise_energy (default) or darkness."""

    def __init__(self, gain: float, threshold: float, feature=noise_energy):
        super().__init__()
        self.feature = feature
        self.head_names, self.head_sizes = ["branch"], [1]
        self.detection_head = nn.Linear(1, 1)
        self.signal_heads = nn.Linear(1, 1)
        with torch.no_grad():
            self.detection_head.weight.fill_(gain)
            self.detection_head.bias.fill_(-gain * threshold)
            self.signal_heads.weight.zero_()
            self.signal_heads.bias.zero_()

    def forward(self, x: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        feature = self.feature(x)
        detection = self.detection_head(feature).squeeze(1)
        signals = torch.sigmoid(self.signal_heads(feature) + detection[:, None])
        return {"branch": signals}, detection


def _code_logits(value: torch.Tensor, start: float, spacing: float) -> torch.Tensor:
    centres = start + spacing * torch.arange(CLASSES, dtype=value.dtype, device=value.device)
    return -((value[:, None] - centres) / (spacing / 2)).pow(2)


class ToyRouted(AWNet):
    """A router-switched toy with a vulnerable branch ("clean" or "adversarial") and a robust one."""

    def __init__(self, vulnerable: str = "clean", threshold: float = 5e-5, gain: float = 1e5,
                 checkerboard: float = 0.0, feature=noise_energy):
        nn.Module.__init__(self)  # AWNet's own __init__ wants AW layers; this toy computes its blend itself
        self.router = ToyRouter(gain, threshold, feature)
        self.vulnerable = vulnerable
        board = (torch.arange(SIZE)[:, None] + torch.arange(SIZE)[None, :]) % 2 * 2 - 1
        self.register_buffer("weights", (1 + checkerboard * board.float()) / SIZE**2)
        self.last_detection_logit, self.last_signals = None, {}
        self._pinned_mode, self._batch_split = None, None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        signals, detection = self.router(x)
        if self._pinned_mode is not None:
            value = {"clean": 0.0, "adversarial": 1.0}.get(self._pinned_mode, self._pinned_mode)
            signals = {name: torch.full_like(signal, float(value)) for name, signal in signals.items()}
        self.last_detection_logit, self.last_signals = detection, signals
        robust = _code_logits(x[:, 0].flatten(1).mean(1), 0.2, 0.2)
        weak = _code_logits((x[:, 1] * self.weights).flatten(1).sum(1), 0.5, 0.025)
        clean, adversarial = (weak, robust) if self.vulnerable == "clean" else (robust, weak)
        r = signals["branch"]
        return (1 - r) * clean + r * adversarial


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())

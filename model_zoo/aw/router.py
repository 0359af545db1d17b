"""The multi-head adversarial router: a light CNN on the input image, a shared embedding, one head per AW layer.

Design choices (ours; the paper gives no code); `input` and `shortcut` are options (model_zoo/aw/options.py):
  * Input (`input="residual"`, the default): the image's high-frequency residual x - blur3x3(x), a fixed linear
    map (so gradients still reach the pixels), as steganalysis-style detectors do. `"raw"` feeds the image
    itself, `"both"` the image and its residual stacked as channels. An L-inf perturbation is a large part of
    that residual but a tiny part of the image: on real CIFAR-10 the detection head learns in tens of steps from the
    residual, and barely moves in the same budget from the raw image (or the image and residual together).
  * Trunk: three strided 3x3 conv-BN-ReLU layers (16, 32, 64 channels, stride 2 each), global average pool
    and a linear embedding; about 0.7 M multiply-adds per 32x32 image (the small CNN has 24 M). BatchNorm,
    not a per-sample norm, so a sample's perturbation energy survives normalisation (that energy is what
    tells PGD examples apart). Its momentum is 0.3, not 0.1: the residual features' variance starts far
    below the running estimate's initial 1, and with 0.1 eval-mode detection stayed at chance for ~50 steps
    after train-mode detection was perfect.
  * Heads: every AW layer (conv or MixBN) gets its own linear head to its channel count. The heads are
    stored as one fused `nn.Linear` whose output is split per layer: the same maths as separate heads,
    one matmul instead of dozens.
  * With `shortcut=True` (the default) each signal head's pre-activation adds the detection logit:
    r = sigmoid(head(e) + detection_logit).
    Both banks start equal, so at first the classification loss gives the signal heads no gradient; the
    detection term makes routing follow the detector from the start ("divide and rule") while the heads
    learn per-filter corrections. Measured on the zoo AW-Net, it also collapses the signals to one bit (98.7% of
    clean signals < 0.05, 100% of noisy ones > 0.95); `shortcut=False` gives r = sigmoid(head(e)), each
    filter's signal its own function of the embedding. Nothing is detached: every signal depends
    differentiably on the input.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

ROUTER_BN_MOMENTUM = 0.3
ROUTER_INPUTS = ("residual", "raw", "both")


def high_frequency_residual(x: torch.Tensor) -> torch.Tensor:
    """x minus its 3x3 local mean (edges use the mean of the pixels inside the image)."""
    return x - F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


def _conv_bn_relu(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, 2, 1, bias=False), nn.BatchNorm2d(cout, momentum=ROUTER_BN_MOMENTUM),
            nn.ReLU(inplace=True)]


class Router(nn.Module):
    """x -> (signals {layer name: [N, C] in [0, 1]}, detection logit [N] of p(adversarial | x))."""

    def __init__(self, in_channels: int, head_sizes: dict[str, int], width: int = 16, embedding_dim: int = 64,
                 input: str = "residual", shortcut: bool = True):
        super().__init__()
        if input not in ROUTER_INPUTS:
            raise ValueError(f"router input must be one of {ROUTER_INPUTS}, not {input!r}")
        self.input, self.shortcut = input, shortcut
        self.head_names = list(head_sizes)
        self.head_sizes = [int(size) for size in head_sizes.values()]
        self.trunk = nn.Sequential(
            *_conv_bn_relu(2 * in_channels if input == "both" else in_channels, width),
            *_conv_bn_relu(width, 2 * width),
            *_conv_bn_relu(2 * width, 4 * width),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(4 * width, embedding_dim),
            nn.ReLU(inplace=True),
        )
        self.signal_heads = nn.Linear(embedding_dim, sum(self.head_sizes))
        self.detection_head = nn.Linear(embedding_dim, 1)
        nn.init.zeros_(self.signal_heads.bias)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """What the trunk reads: the residual, the image, or both stacked as channels."""
        if self.input == "raw":
            return x
        residual = high_frequency_residual(x)
        return residual if self.input == "residual" else torch.cat([x, residual], 1)

    def forward(self, x: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        embedding = self.trunk(self.features(x))
        detection_logit = self.detection_head(embedding).squeeze(1)
        signal_logits = self.signal_heads(embedding)
        if self.shortcut:
            signal_logits = signal_logits + detection_logit[:, None]
        signals = torch.sigmoid(signal_logits).split(self.head_sizes, dim=1)
        return dict(zip(self.head_names, signals)), detection_logit

"""The multi-head adversarial router: a light CNN on the input image, a shared embedding, one head per AW layer.

Design choices (ours; the paper gives no code):
  * Trunk: three strided 3x3 conv-BN-ReLU layers (16, 32, 64 channels, stride 2 each), global average pool
    and a linear embedding. BatchNorm, not a per-sample norm, so a sample's perturbation energy survives
    normalisation (that energy is what tells PGD examples apart); about 1 MFLOP per 32x32 image.
  * Heads: every AW layer (conv or MixBN) gets its own linear head to its channel count. The heads are
    stored as one fused `nn.Linear` whose output is split per layer: the same maths as separate heads,
    one matmul instead of dozens.
  * Each signal head's pre-activation adds the detection logit: r = sigmoid(head(e) + detection_logit).
    Both banks start equal, so at first the classification loss gives the signal heads no gradient; the
    detection term makes routing follow the detector from the start ("divide and rule") while the heads
    learn per-filter corrections. Nothing is detached: every signal depends differentiably on the input.
"""

from __future__ import annotations

import torch
from torch import nn


def _conv_bn_relu(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class Router(nn.Module):
    """x -> (signals {layer name: [N, C] in [0, 1]}, detection logit [N] of p(adversarial | x))."""

    def __init__(self, in_channels: int, head_sizes: dict[str, int], width: int = 16, embedding_dim: int = 64):
        super().__init__()
        self.head_names = list(head_sizes)
        self.head_sizes = [int(size) for size in head_sizes.values()]
        self.trunk = nn.Sequential(
            *_conv_bn_relu(in_channels, width),
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

    def forward(self, x: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        embedding = self.trunk(x)
        detection_logit = self.detection_head(embedding).squeeze(1)
        signal_logits = self.signal_heads(embedding) + detection_logit[:, None]
        signals = torch.sigmoid(signal_logits).split(self.head_sizes, dim=1)
        return dict(zip(self.head_names, signals)), detection_logit

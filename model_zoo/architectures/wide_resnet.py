"""Wide ResNets WRN-34-10 and WRN-28-10 (Zagoruyko & Komodakis), the standard robust-CIFAR backbones."""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from model_zoo.registry import register


class WideBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.shortcut = None if (cin == cout and stride == 1) else nn.Conv2d(cin, cout, 1, stride, bias=False)

    def forward(self, x):
        out = F.relu(self.bn1(x))
        shortcut = x if self.shortcut is None else self.shortcut(out)
        out = self.conv2(F.relu(self.bn2(self.conv1(out))))
        return out + shortcut


class WideResNet(nn.Module):
    def __init__(self, depth: int, widen: int, num_classes: int = 10, in_channels: int = 3):
        super().__init__()
        if (depth - 4) % 6:
            raise ValueError("WideResNet depth must be 6n+4")
        per_stage = (depth - 4) // 6
        widths = (16, 16 * widen, 32 * widen, 64 * widen)
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
        stages, cin = [], widths[0]
        for index, width in enumerate(widths[1:]):
            blocks = [WideBlock(cin if b == 0 else width, width, (1 if index == 0 else 2) if b == 0 else 1)
                      for b in range(per_stage)]
            stages.append(nn.Sequential(*blocks))
            cin = width
        self.block1, self.block2, self.block3 = stages
        self.bn = nn.BatchNorm2d(widths[3])
        self.linear = nn.Linear(widths[3], num_classes)

    def forward(self, x):
        out = self.block3(self.block2(self.block1(self.conv1(x))))
        out = F.relu(self.bn(out))
        return self.linear(F.adaptive_avg_pool2d(out, 1).flatten(1))


@register("wrn-34-10")
def wrn_34_10(num_classes: int = 10, in_channels: int = 3) -> nn.Module:
    return WideResNet(34, 10, num_classes, in_channels)


@register("wrn-28-10")
def wrn_28_10(num_classes: int = 10, in_channels: int = 3) -> nn.Module:
    return WideResNet(28, 10, num_classes, in_channels)

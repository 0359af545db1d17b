"""CIFAR-style PreAct-ResNet-18 (He et al. 2016), the usual backbone of fast adversarial training."""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from model_zoo.registry import register


class PreActBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False))

    def forward(self, x):
        out = F.relu(self.bn1(x))
        shortcut = self.shortcut(out) if self.shortcut is not None else x
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + shortcut


class PreActResNet(nn.Module):
    def __init__(self, blocks_per_stage: tuple[int, ...], num_classes: int = 10, in_channels: int = 3):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 64, 3, 1, 1, bias=False)
        stages, cin = [], 64
        for index, (width, count) in enumerate(zip((64, 128, 256, 512), blocks_per_stage)):
            layers = []
            for block in range(count):
                layers.append(PreActBlock(cin, width, 2 if (block == 0 and index > 0) else 1))
                cin = width
            stages.append(nn.Sequential(*layers))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.bn = nn.BatchNorm2d(512)
        self.linear = nn.Linear(512, num_classes)

    def forward(self, x):
        out = self.layer4(self.layer3(self.layer2(self.layer1(self.conv1(x)))))
        out = F.relu(self.bn(out))
        return self.linear(F.adaptive_avg_pool2d(out, 1).flatten(1))


@register("preact-resnet18")
def preact_resnet18(num_classes: int = 10, in_channels: int = 3) -> nn.Module:
    return PreActResNet((2, 2, 2, 2), num_classes, in_channels)

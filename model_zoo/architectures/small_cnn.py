"""A 4-conv CNN (conv-BN-ReLU x4, two max-pools) small enough to train adversarially on a CPU."""

from __future__ import annotations

from torch import nn

from model_zoo.registry import register


def _block(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class SmallCNN(nn.Module):
    def __init__(self, num_classes: int = 10, in_channels: int = 3, width: int = 32):
        super().__init__()
        self.features = nn.Sequential(
            *_block(in_channels, width),
            *_block(width, width),
            nn.MaxPool2d(2),
            *_block(width, 2 * width),
            *_block(2 * width, 2 * width),
            nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(1),
        )
        self.classifier = nn.Linear(2 * width, num_classes)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


@register("small-cnn")
def small_cnn(num_classes: int = 10, in_channels: int = 3) -> nn.Module:
    return SmallCNN(num_classes, in_channels)

"""Registers `aw-<name>` for every static backbone AW-Net is built on: the static model, converted.

`aw_backbone(name, adversarial_rank_fraction=None)` builds the full two-bank variant of the same backbone
(bench/awnet_overhead.py compares both).
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from model_zoo.architectures import preact_resnet, resnet, small_cnn, wide_resnet
from model_zoo.aw.convert import DEFAULT_ADVERSARIAL_RANK_FRACTION, make_aw
from model_zoo.aw.network import AWNet
from model_zoo.registry import register

STATIC_BACKBONES: dict[str, Callable[..., nn.Module]] = {
    "small-cnn": small_cnn.small_cnn,
    "resnet18": resnet.resnet18,
    "preact-resnet18": preact_resnet.preact_resnet18,
    "wrn-34-10": wide_resnet.wrn_34_10,
    "wrn-28-10": wide_resnet.wrn_28_10,
}


def aw_backbone(name: str, num_classes: int = 10, in_channels: int = 3,
                adversarial_rank_fraction: float | None = DEFAULT_ADVERSARIAL_RANK_FRACTION) -> AWNet:
    """The AWNet of static backbone `name` (no Normalize layer), with the chosen adversarial bank."""
    backbone = STATIC_BACKBONES[name](num_classes=num_classes, in_channels=in_channels)
    return make_aw(backbone, in_channels=in_channels, adversarial_rank_fraction=adversarial_rank_fraction)


def _registered_builder(name: str) -> Callable[..., nn.Module]:
    def build(num_classes: int = 10, in_channels: int = 3) -> nn.Module:
        return aw_backbone(name, num_classes, in_channels)

    return build


for _static_name in STATIC_BACKBONES:
    register(f"aw-{_static_name}")(_registered_builder(_static_name))

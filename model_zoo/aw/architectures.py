"""Registers `aw-<name>` for every static backbone AW-Net is built on: the static model, converted."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from model_zoo.architectures import preact_resnet, resnet, small_cnn, wide_resnet
from model_zoo.aw.convert import make_aw
from model_zoo.registry import register

STATIC_BACKBONES: dict[str, Callable[..., nn.Module]] = {
    "small-cnn": small_cnn.small_cnn,
    "resnet18": resnet.resnet18,
    "preact-resnet18": preact_resnet.preact_resnet18,
    "wrn-34-10": wide_resnet.wrn_34_10,
    "wrn-28-10": wide_resnet.wrn_28_10,
}


def _aw_builder(static_builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    def build(num_classes: int = 10, in_channels: int = 3) -> nn.Module:
        return make_aw(static_builder(num_classes=num_classes, in_channels=in_channels), in_channels=in_channels)

    return build


for _static_name, _static_builder in STATIC_BACKBONES.items():
    register(f"aw-{_static_name}")(_aw_builder(_static_builder))

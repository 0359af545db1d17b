"""Registers both AW-Net designs for every static backbone: the static model, converted.

  * `aw-<name>`: the full two-bank design (AWConv2d; the paper's, the default);
  * `aw-lr-<name>`: the low-rank design (LowRankAWConv2d; adversarial bank = clean + a low-rank correction),
    cheaper on a CPU.
Both take the AW-Net options of model_zoo/aw/options.py as keyword arguments (`model_zoo.create(name,
options={...})`), e.g. router_input="raw", router_shortcut=False, adversarial_rank_fraction=0.5 (aw-lr only).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from model_zoo.architectures import preact_resnet, resnet, small_cnn, wide_resnet
from model_zoo.aw.convert import make_aw
from model_zoo.aw.network import AWNet
from model_zoo.aw.options import FULL_PREFIX, LOW_RANK_PREFIX, AWOptions, resolve
from model_zoo.registry import register

STATIC_BACKBONES: dict[str, Callable[..., nn.Module]] = {
    "small-cnn": small_cnn.small_cnn,
    "resnet18": resnet.resnet18,
    "preact-resnet18": preact_resnet.preact_resnet18,
    "wrn-34-10": wide_resnet.wrn_34_10,
    "wrn-28-10": wide_resnet.wrn_28_10,
}


def aw_backbone(name: str, num_classes: int = 10, in_channels: int = 3,
                options: AWOptions | None = None) -> AWNet:
    """The AWNet of static backbone `name` (no Normalize layer) built with `options` (default: full design)."""
    options = options or AWOptions()
    backbone = STATIC_BACKBONES[name](num_classes=num_classes, in_channels=in_channels)
    awnet = make_aw(backbone, in_channels=in_channels, adversarial_rank_fraction=options.adversarial_rank_fraction,
                    router_width=options.router_width, embedding_dim=options.embedding_dim,
                    router_input=options.router_input, router_shortcut=options.router_shortcut)
    awnet.options = options
    return awnet


def _registered(name: str, design: str) -> tuple[Callable[..., nn.Module], Callable[[dict[str, Any]], dict]]:
    def build(num_classes: int = 10, in_channels: int = 3, **options: Any) -> nn.Module:
        return aw_backbone(name, num_classes, in_channels, resolve(design, options))

    def resolve_options(options: dict[str, Any]) -> dict[str, Any]:
        return resolve(design, options).to_dict()

    return build, resolve_options


for _static_name in STATIC_BACKBONES:
    for _prefix, _design in ((FULL_PREFIX, "full"), (LOW_RANK_PREFIX, "low-rank")):
        _build, _resolve = _registered(_static_name, _design)
        register(f"{_prefix}{_static_name}", resolve_options=_resolve)(_build)

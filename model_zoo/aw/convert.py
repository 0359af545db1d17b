"""Turn any static backbone into an AW-Net: every nn.Conv2d -> an AW conv, every nn.BatchNorm2d -> MixBN.

"Architecture-friendly": nothing here knows ResNets from WRNs; the backbone's own forward is unchanged, only
its layers are swapped. Both banks / branches start as copies of the static layer, so a converted model with
any signal computes exactly what the static model did until training makes the banks differ.

Which AW conv: `adversarial_rank_fraction=None` gives the full two-bank AWConv2d of the design (adversarial
bank as large as the clean one; ~2x the conv cost); a fraction f gives LowRankAWConv2d, whose adversarial bank
differs from the clean one by a rank ceil(f * filters) correction (~1 + f the conv cost), f in (0, 1]. The
registered aw-* models are the full design; the aw-lr-* models use a fraction, DEFAULT_ADVERSARIAL_RANK_FRACTION
unless told otherwise. Grouped convolutions always get the full two-bank layer.
"""

from __future__ import annotations

from torch import nn

from model_zoo.aw.conv import AWConv2d
from model_zoo.aw.lowrank import LowRankAWConv2d
from model_zoo.aw.mixbn import MixBN
from model_zoo.aw.network import AW_CONVS, AWNet

DEFAULT_ADVERSARIAL_RANK_FRACTION = 0.25  # of the aw-lr-* models


def _aw_conv(conv: nn.Conv2d, adversarial_rank_fraction: float | None) -> nn.Module:
    if adversarial_rank_fraction is None or conv.groups != 1:
        return AWConv2d.from_static(conv)
    return LowRankAWConv2d.from_static(conv, adversarial_rank_fraction)


def convert(module: nn.Module, adversarial_rank_fraction: float | None = None) -> nn.Module:
    """Swap the layers of `module` in place (recursively) and return it; AW layers already there are kept."""
    if adversarial_rank_fraction is not None and not 0 < adversarial_rank_fraction <= 1:
        raise ValueError(f"adversarial_rank_fraction must lie in (0, 1], got {adversarial_rank_fraction}")
    for name, child in module.named_children():
        if isinstance(child, (*AW_CONVS, MixBN)):
            continue
        if isinstance(child, nn.Conv2d):
            setattr(module, name, _aw_conv(child, adversarial_rank_fraction))
        elif isinstance(child, nn.BatchNorm2d):
            setattr(module, name, MixBN.from_static(child))
        else:
            convert(child, adversarial_rank_fraction)
    return module


def first_conv_in_channels(module: nn.Module) -> int:
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, *AW_CONVS)):
            return layer.in_channels
    raise ValueError("backbone has no convolution")


def make_aw(
    backbone: nn.Module,
    *,
    in_channels: int | None = None,
    adversarial_rank_fraction: float | None = None,
    router_width: int = 16,
    embedding_dim: int = 64,
    router_input: str = "residual",
    router_shortcut: bool = True,
) -> AWNet:
    """AWNet(convert(backbone)) with a router reading `in_channels`-channel images (default: the first conv's).

    The backbone is converted in place: pass a fresh one (or a deep copy).
    """
    in_channels = first_conv_in_channels(backbone) if in_channels is None else in_channels
    return AWNet(convert(backbone, adversarial_rank_fraction), in_channels=in_channels, router_width=router_width,
                 embedding_dim=embedding_dim, router_input=router_input, router_shortcut=router_shortcut)

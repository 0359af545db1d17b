"""Turn any static backbone into an AW-Net: every nn.Conv2d -> AWConv2d, every nn.BatchNorm2d -> MixBN.

"Architecture-friendly": nothing here knows ResNets from WRNs; the backbone's own forward is unchanged, only
its layers are swapped. Both banks / branches start as copies of the static layer, so a converted model with
any signal computes exactly what the static model did until training makes the banks differ.
"""

from __future__ import annotations

from torch import nn

from model_zoo.aw.conv import AWConv2d
from model_zoo.aw.mixbn import MixBN
from model_zoo.aw.network import AWNet


def convert(module: nn.Module) -> nn.Module:
    """Swap the layers of `module` in place (recursively) and return it; AW layers already there are kept."""
    for name, child in module.named_children():
        if isinstance(child, (AWConv2d, MixBN)):
            continue
        if isinstance(child, nn.Conv2d):
            setattr(module, name, AWConv2d.from_static(child))
        elif isinstance(child, nn.BatchNorm2d):
            setattr(module, name, MixBN.from_static(child))
        else:
            convert(child)
    return module


def first_conv_in_channels(module: nn.Module) -> int:
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, AWConv2d)):
            return layer.in_channels
    raise ValueError("backbone has no convolution")


def make_aw(
    backbone: nn.Module,
    *,
    in_channels: int | None = None,
    router_width: int = 16,
    embedding_dim: int = 64,
) -> AWNet:
    """AWNet(convert(backbone)) with a router reading `in_channels`-channel images (default: the first conv's).

    The backbone is converted in place: pass a fresh one (or a deep copy).
    """
    in_channels = first_conv_in_channels(backbone) if in_channels is None else in_channels
    return AWNet(convert(backbone), in_channels=in_channels, router_width=router_width, embedding_dim=embedding_dim)

"""AWConv2d: a convolution whose filters move, per sample, between a clean and an adversarial bank.

For sample n and output filter k the regulation signal r[n, k] in [0, 1] gives the filter
`W_k(x_n) = (1 - r[n, k]) * W_clean_k + r[n, k] * W_adv_k`. A convolution is linear in its weights, so the
output is the same blend of the two banks' outputs; we therefore run ONE convolution with both banks stacked
along the output channels and blend per channel afterwards. There is no loop over samples and no per-sample
weight tensor (which would cost N times the weights' memory).

The two banks live in one parameter, `weight`, of shape [2 * out_channels, in_channels / groups, kh, kw]
(clean filters first within each group), so the forward pass does not copy them into a stacked tensor each
call; `weight_clean` and `weight_adv` are views of it. The conv costs twice the static layer's FLOPs: that
is inherent to keeping two full banks, and measured on CPU it puts whole networks at 2.0-2.5x the static cost
(bench/awnet_overhead.py). This is the design's full version (`make_aw(..., adversarial_rank_fraction=None)`);
the registered aw-* models use LowRankAWConv2d to stay within the cost budget.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from model_zoo.aw.functional import blend_banks


class AWConv2d(nn.Module):
    """Filter-level dynamic Conv2d; its signal [N, out_channels] is set by the enclosing AWNet before a forward.

    `forward(x, signal=None)` uses `signal` when given, else the `signal` attribute the AWNet assigned;
    having neither is an error (a silent default would hide a wiring bug).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | str = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ):
        super().__init__()
        kernel_size = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
        if in_channels % groups or out_channels % groups:
            raise ValueError("in_channels and out_channels must be divisible by groups")
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        factory = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.empty(2 * out_channels, in_channels // groups, *kernel_size, **factory))
        self.bias = nn.Parameter(torch.zeros(2 * out_channels, **factory)) if bias else None
        nn.init.kaiming_uniform_(self.weight, a=5**0.5)  # as nn.Conv2d; both banks drawn independently
        self.signal: torch.Tensor | None = None

    @classmethod
    def from_static(cls, conv: nn.Conv2d) -> AWConv2d:
        """Both banks start as copies of the static conv's weights (the router then learns to tell them apart)."""
        if conv.padding_mode != "zeros":
            raise ValueError(f"AWConv2d supports zero padding only, not {conv.padding_mode!r}")
        # skip_init: no random draw for weights that are overwritten at once (WRN-34-10 has 46 M of them)
        layer = nn.utils.skip_init(cls, conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                                   conv.padding, conv.dilation, conv.groups, conv.bias is not None,
                                   device=conv.weight.device, dtype=conv.weight.dtype)
        layer.signal = None
        with torch.no_grad():
            for stacked, static in ((layer.weight, conv.weight), (layer.bias, conv.bias)):
                if static is not None:  # both banks := the static tensor, written in place (no temporary)
                    stacked.unflatten(0, (layer.groups, 2, -1)).copy_(static.unflatten(0, (layer.groups, 1, -1)))
        return layer

    # Within each group g the stacked layout is [clean filters of g; adversarial filters of g], so that a
    # grouped convolution still sees the right input channels for both banks.
    def _stack(self, clean: torch.Tensor, adversarial: torch.Tensor) -> torch.Tensor:
        g = self.groups
        return torch.stack([clean.unflatten(0, (g, -1)), adversarial.unflatten(0, (g, -1))], 1).flatten(0, 2)

    def _bank(self, tensor: torch.Tensor, index: int) -> torch.Tensor:
        return tensor.unflatten(0, (self.groups, 2, -1))[:, index].flatten(0, 1)

    @property
    def weight_clean(self) -> torch.Tensor:
        return self._bank(self.weight, 0)

    @property
    def weight_adv(self) -> torch.Tensor:
        return self._bank(self.weight, 1)

    @property
    def bias_clean(self) -> torch.Tensor | None:
        return None if self.bias is None else self._bank(self.bias, 0)

    @property
    def bias_adv(self) -> torch.Tensor | None:
        return None if self.bias is None else self._bank(self.bias, 1)

    def forward(self, x: torch.Tensor, signal: torch.Tensor | None = None) -> torch.Tensor:
        signal = self.signal if signal is None else signal
        if signal is None:
            raise RuntimeError("AWConv2d needs a regulation signal: run it inside an AWNet or pass signal=")
        both = F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        return blend_banks(both, signal, self.groups)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, groups={self.groups}, bias={self.bias is not None}, banks=2")


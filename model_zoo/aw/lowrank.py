"""LowRankAWConv2d: AWConv2d whose adversarial bank is the clean bank plus a low-rank correction.

    W_adv = W_clean + U @ V    (U: [out, rank] "mix", V: [rank, in * kh * kw] "basis"),
    out = conv(x, W_clean) + r * conv1x1(conv(x, V), U)    per sample and filter, r in [0, 1].

Why it exists: the full two-bank AWConv2d runs a convolution with twice the output channels, and measured
on a 2-core CPU that alone costs 2.0-2.2x the static conv (bench/awnet_overhead.py), so whole networks land
above the 2x cost cap. Here the extra convolution has only `rank` output channels (a quarter of the filters
by default) plus the mix, and the layer costs 1.35-1.6x the static conv forward+backward (measured, batch 128).
Every filter still moves per sample between its clean and adversarial version; what is constrained is the
difference between the banks (its rank is at most `rank`).
Both banks start equal to the static weights (U = 0), as in the full version. The clean filters and the basis
are stacked in one parameter and computed as ONE convolution, split afterwards. The bias (if any) is stacked the
same way: bias_adv = bias_clean + U @ bias_basis.

The mix and blend `clean + r * (U @ basis_response)` is one batched matmul with the per-sample matrix
diag(r_n) U on maps of >= BMM_MIN_PIXELS pixels (it writes the output once and its backward is two matmuls);
on smaller maps, where many tiny matmuls are slow, it is a 1x1 convolution then a fused per-channel blend.
Both compute the same thing.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from model_zoo.aw.functional import add_scaled

BMM_MIN_PIXELS = 64  # measured crossover on CPU: batched matmul wins from 8x8 maps up, loses at 4x4


class LowRankAWConv2d(nn.Module):
    """Filter-level dynamic Conv2d with a rank-limited adversarial bank; groups=1 only. Same interface as AWConv2d."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int], rank: int,
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] | str = 0,
                 dilation: int | tuple[int, int] = 1, bias: bool = True,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None):
        super().__init__()
        kernel_size = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
        if not 1 <= rank <= out_channels:
            raise ValueError(f"rank must lie in [1, out_channels={out_channels}], got {rank}")
        self.in_channels, self.out_channels, self.kernel_size, self.rank = in_channels, out_channels, kernel_size, rank
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, 1
        factory = {"device": device, "dtype": dtype}
        # rows [0, out): the clean filters W_clean; rows [out, out + rank): the adversarial basis V
        self.weight = nn.Parameter(torch.empty(out_channels + rank, in_channels, *kernel_size, **factory))
        self.adversarial_mix = nn.Parameter(torch.zeros(out_channels, rank, **factory))  # U, 0: banks start equal
        self.bias = nn.Parameter(torch.zeros(out_channels + rank, **factory)) if bias else None  # [clean; basis]
        nn.init.kaiming_uniform_(self.weight, a=5**0.5)
        self.signal: torch.Tensor | None = None

    @classmethod
    def from_static(cls, conv: nn.Conv2d, rank_fraction: float) -> LowRankAWConv2d:
        """Clean bank := the static weights; adversarial bank = clean bank (U = 0) with a random basis V."""
        if conv.groups != 1 or conv.padding_mode != "zeros":
            raise ValueError("LowRankAWConv2d supports ungrouped, zero-padded convolutions only")
        rank = max(1, min(conv.out_channels, math.ceil(conv.out_channels * rank_fraction)))
        layer = cls(conv.in_channels, conv.out_channels, conv.kernel_size, rank, conv.stride, conv.padding,
                    conv.dilation, conv.bias is not None, device=conv.weight.device, dtype=conv.weight.dtype)
        with torch.no_grad():
            layer.weight[: conv.out_channels].copy_(conv.weight)
            if conv.bias is not None:
                layer.bias[: conv.out_channels].copy_(conv.bias)
        return layer

    @property
    def weight_clean(self) -> torch.Tensor:
        return self.weight[: self.out_channels]

    @property
    def weight_adv(self) -> torch.Tensor:
        basis = self.weight[self.out_channels :].flatten(1)
        return self.weight_clean + (self.adversarial_mix @ basis).view_as(self.weight_clean)

    @property
    def bias_clean(self) -> torch.Tensor | None:
        return None if self.bias is None else self.bias[: self.out_channels]

    @property
    def bias_adv(self) -> torch.Tensor | None:
        if self.bias is None:
            return None
        return self.bias_clean + self.adversarial_mix @ self.bias[self.out_channels :]

    def forward(self, x: torch.Tensor, signal: torch.Tensor | None = None) -> torch.Tensor:
        signal = self.signal if signal is None else signal
        if signal is None:
            raise RuntimeError("LowRankAWConv2d needs a regulation signal: run it inside an AWNet or pass signal=")
        both = F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)
        clean, basis_response = both.split([self.out_channels, self.rank], dim=1)
        n, channels, height, width = clean.shape
        signal = signal.to(both.dtype)
        if height * width >= BMM_MIN_PIXELS:
            per_sample_mix = signal[:, :, None] * self.adversarial_mix  # diag(r_n) U: [N, C, rank]
            out = torch.baddbmm(clean.flatten(2), per_sample_mix, basis_response.flatten(2))
            return out.view(n, channels, height, width)
        delta = F.conv2d(basis_response, self.adversarial_mix[:, :, None, None])
        return add_scaled(clean, delta, signal)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, bias={self.bias is not None}, adversarial_rank={self.rank}")

"""MixBN: batch normalisation with a clean and an adversarial branch (statistics and affine parameters).

How the layer knows which samples are which:
  * `batch_split = n_clean` (set by `AWNet.split_batch(n_clean)`), in training mode: the batch is
    [clean; adversarial]; the first n_clean samples are normalised (and their running statistics tracked) by
    the clean branch, the rest by the adversarial branch. This is MixBN as in AW-Net's training.
  * otherwise (eval mode, or training without a split): per sample n and channel c, the two branches'
    outputs are blended with the router's signal r[n, c]: (1 - r) * clean_bn(x) + r * adversarial_bn(x).
    In eval mode a BN branch is an affine map, so the blend is one per-sample affine map computed from the
    running statistics: a sample's output never depends on the rest of the batch.
    In training mode without a split both branches normalise with the batch's statistics (so the normalised
    values coincide and only the affine parameters are blended) and both branches' running statistics track
    that batch: a method that does not split (pgd-at, trades, ...) trains both branches alike.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from model_zoo.aw.functional import per_sample_affine


class MixBN(nn.Module):
    """Two BatchNorm2d branches, `clean` and `adversarial`; signal [N, C] and batch_split are set by AWNet."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True):
        super().__init__()
        self.num_features = num_features
        self.clean = nn.BatchNorm2d(num_features, eps=eps, momentum=momentum, affine=affine)
        self.adversarial = nn.BatchNorm2d(num_features, eps=eps, momentum=momentum, affine=affine)
        self.signal: torch.Tensor | None = None
        self.batch_split: int | None = None

    @classmethod
    def from_static(cls, bn: nn.BatchNorm2d) -> MixBN:
        """Both branches start as copies of the static BN (statistics and affine parameters)."""
        if not bn.track_running_stats:
            raise ValueError("MixBN needs running statistics (track_running_stats=True) for batch-independent eval")
        layer = cls(bn.num_features, bn.eps, bn.momentum, bn.affine)
        layer.clean.load_state_dict(bn.state_dict())
        layer.adversarial.load_state_dict(bn.state_dict())
        return layer.to(device=bn.running_mean.device, dtype=bn.running_mean.dtype)

    def forward(self, x: torch.Tensor, signal: torch.Tensor | None = None) -> torch.Tensor:
        if self.training and self.batch_split is not None:
            return self._split_forward(x, self.batch_split)
        signal = self.signal if signal is None else signal
        if signal is None:
            raise RuntimeError("MixBN needs a regulation signal or a batch split: run it inside an AWNet")
        if self.training:
            return self._blended_training_forward(x, signal)
        return self._blended_eval_forward(x, signal)

    def _split_forward(self, x: torch.Tensor, n_clean: int) -> torch.Tensor:
        if not 0 <= n_clean <= len(x):
            raise ValueError(f"batch_split {n_clean} outside a batch of {len(x)}")
        if n_clean == 0:
            return self.adversarial(x)
        if n_clean == len(x):
            return self.clean(x)
        clean_part, adversarial_part = x.split([n_clean, len(x) - n_clean])  # split's backward is one cat
        return torch.cat([self.clean(clean_part), self.adversarial(adversarial_part)])

    def _affine(self, branch: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
        ones = torch.ones(self.num_features, device=branch.running_mean.device, dtype=branch.running_mean.dtype)
        return (branch.weight if branch.affine else ones), (branch.bias if branch.affine else ones * 0)

    def _blended_eval_forward(self, x: torch.Tensor, signal: torch.Tensor) -> torch.Tensor:
        signal = signal.to(self.clean.running_var.dtype)
        scales, shifts = [], []
        for branch in (self.clean, self.adversarial):
            weight, bias = self._affine(branch)
            scale = weight * torch.rsqrt(branch.running_var + branch.eps)
            scales.append(scale)
            shifts.append(bias - branch.running_mean * scale)
        return per_sample_affine(x, torch.lerp(scales[0], scales[1], signal), torch.lerp(shifts[0], shifts[1], signal))

    def _blended_training_forward(self, x: torch.Tensor, signal: torch.Tensor) -> torch.Tensor:
        normalised = F.batch_norm(x, None, None, None, None, True, 0.0, self.clean.eps)
        with torch.no_grad():
            var, mean = torch.var_mean(x.float(), dim=(0, 2, 3), correction=1)  # bf16 activations: fp32 stats
            for branch in (self.clean, self.adversarial):
                _track(branch, mean, var)
        (weight_clean, bias_clean), (weight_adv, bias_adv) = self._affine(self.clean), self._affine(self.adversarial)
        signal = signal.to(weight_clean.dtype)
        scale, shift = torch.lerp(weight_clean, weight_adv, signal), torch.lerp(bias_clean, bias_adv, signal)
        return per_sample_affine(normalised, scale, shift)

    def extra_repr(self) -> str:
        return f"{self.num_features}, branches=(clean, adversarial)"


def _track(branch: nn.BatchNorm2d, mean: torch.Tensor, var: torch.Tensor) -> None:
    """Update a branch's running statistics exactly as nn.BatchNorm2d does in training mode."""
    branch.num_batches_tracked.add_(1)
    factor = branch.momentum if branch.momentum is not None else 1.0 / float(branch.num_batches_tracked)
    branch.running_mean.lerp_(mean.to(branch.running_mean.dtype), factor)
    branch.running_var.lerp_(var.to(branch.running_var.dtype), factor)

"""The sign-gradient search shared by the dynamic-model attacks: any objective, any start, full or low resolution.

`search(objective, x, y, ...)` maximises objective(x_adv, y) ([N] per-sample values) by projected ascent
on a perturbation parameter w. At full resolution w is the pixel perturbation itself (plain PGD). At
`resolution=k`, w has shape [N, C, k, k] and the perturbation is its bilinear upsampling to the image size:
a low-frequency subspace (a router fed high-frequency residuals barely sees it). Bilinear weights are a
convex combination, so |w| <= eps gives an Linf perturbation <= eps; under L2, w is rescaled so that the
upsampled perturbation's norm stays <= eps. The adversarial image is clamp(x + delta, 0, 1), inside the
budget either way (clamping only moves pixels towards x).

With a `judge` (x_adv, y) -> fooled [N] (e.g. the real dynamic network, while the objective runs on a
pinned one), every iterate is judged and a sample keeps its first fooling iterate and leaves the batch;
samples never fooled return their last iterate. Without a judge (training), the last iterate is returned.
Works in train or eval mode (the caller sets it); gradients w.r.t. the input only.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from awbench.threat import Norm

Objective = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (x_adv, y) -> per-sample value to maximise
Judge = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (x_adv, y) -> bool [N], True where fooled
STARTS = ("zero", "low_noise", "uniform")
LOW_NOISE_FRACTION = 0.25  # "low_noise" start: uniform in +-eps/4 (PGD's usual +-eps start trips a noise detector)


def _norm_of(t: torch.Tensor) -> torch.Tensor:
    return t.flatten(1).norm(dim=1).view(-1, *([1] * (t.dim() - 1)))


def upsample(w: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The perturbation of parameter w: w itself at full size, else its bilinear upsampling to `size`."""
    if tuple(w.shape[-2:]) == tuple(size):
        return w
    return F.interpolate(w, size=size, mode="bilinear", align_corners=False)


def start_parameter(kind: str, shape: tuple[int, ...], eps: float, norm: Norm, *, device: torch.device,
                    dtype: torch.dtype) -> torch.Tensor:
    """A starting parameter: zeros, uniform noise at eps/4, or uniform noise at eps (Linf; L2 scaled to the ball)."""
    if kind not in STARTS:
        raise ValueError(f"start must be one of {STARTS}, not {kind!r}")
    if kind == "zero":
        return torch.zeros(shape, device=device, dtype=dtype)
    scale = eps * (LOW_NOISE_FRACTION if kind == "low_noise" else 1.0)
    noise = torch.empty(shape, device=device, dtype=dtype).uniform_(-1, 1)
    if norm is Norm.LINF:
        return noise * scale
    return noise / _norm_of(noise).clamp_min(1e-12) * scale


def _project(w: torch.Tensor, x: torch.Tensor, eps: float, norm: Norm) -> torch.Tensor:
    size = tuple(x.shape[-2:])
    if norm is Norm.LINF:
        w = w.clamp(-eps, eps)
    else:
        w = w * (eps / _norm_of(upsample(w, size)).clamp_min(1e-12)).clamp(max=1.0)
    if tuple(w.shape[-2:]) == size:  # full resolution: keep x + w inside [0, 1], as PGD does
        w = (x + w).clamp(0.0, 1.0) - x
    return w


def compose(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """The adversarial image of parameter w: clamp(x + upsample(w), 0, 1)."""
    return (x + upsample(w, tuple(x.shape[-2:]))).clamp(0.0, 1.0)


def search(objective: Objective, x: torch.Tensor, y: torch.Tensor, *, eps: float, step_size: float, steps: int,
           norm: Norm = Norm.LINF, resolution: int | None = None, start: str = "zero",
           judge: Judge | None = None) -> torch.Tensor:
    """`steps` projected sign-ascent steps on objective from `start`, perturbation at `resolution` (None: full).

    Returns x_adv (same shape as x); with `judge`, each sample's first fooling iterate (see the module doc).
    """
    x = x.detach()
    size = tuple(x.shape[-2:])
    shape = (*x.shape[:-2], *(size if resolution is None else (resolution, resolution)))
    w = _project(start_parameter(start, shape, eps, norm, device=x.device, dtype=x.dtype), x, eps, norm)
    result = compose(x, w)
    active = torch.arange(len(x), device=x.device)
    for step in range(steps + 1):
        if judge is not None:
            with torch.no_grad():
                fooled = judge(compose(x, w), y)
            if fooled.any():
                result[active[fooled]] = compose(x[fooled], w[fooled])
                keep = ~fooled
                if not keep.any():
                    return result
                active, x, y, w = active[keep], x[keep], y[keep], w[keep]
        if step == steps:
            break
        w = w.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(objective(compose(x, w), y).sum(), w)
        with torch.no_grad():
            direction = grad.sign() if norm is Norm.LINF else grad / _norm_of(grad).clamp_min(1e-12)
            w = _project(w + step_size * direction, x, eps, norm)
    result[active] = compose(x, w.detach())
    return result

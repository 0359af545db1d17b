"""Router evasion in AW-Net training: adversarial examples made with the evaluation's router-evading attacks.

Why (ours, not from the AW-Net paper): issue 11 found that a router trained only on PGD examples learns a
noise-energy switch. The adaptive suite then steers the real router to "clean" with a small or smooth
perturbation and attacks the clean branch, and the AW-Net is no more robust than its clean branch pinned.
So a share of each batch's adversarial examples is crafted by the same code the evaluation attacks with
(no second copy of the attack math):

  * half of that share: `awbench.attacks.regime.regime_targeted_pgd` with regime "clean" (signals pinned
    to 0, CW margin minus the non-saturating hinge that pushes the real router to "clean");
  * the other half: `awbench.attacks.lowfreq.low_frequency_pgd` (CW margin, perturbation upsampled from a
    k x k grid), k drawn each step from RESOLUTIONS (4, 8, 16);

each from a start drawn from ("zero", "low_noise"), the regime-clean candidate's starts in the evaluation
(never +-eps noise, which the router flags). Both run on the whole network in eval mode, as the method's
PGD does, and return their last iterate (judge=False). The caller gives every adversarial example, however
it was made, the router target "perturbed".
"""

from __future__ import annotations

import torch
from torch import nn

from awbench.attacks.lowfreq import RESOLUTIONS, low_frequency_pgd
from awbench.attacks.regime import regime_targeted_pgd
from awbench.threat import Norm
from awbench.training.methods.base import frozen

EVASION_STARTS = ("zero", "low_noise")
EVASION_LOSS = "cw"  # the margin loss the evaluation's regime and low-frequency candidates use


def _draw(options: tuple) -> object:
    return options[int(torch.randint(len(options), ()).item())]


def evasion_count(fraction: float, batch: int) -> int:
    """How many of a batch's `batch` adversarial examples are router-evading: round(fraction * batch)."""
    return min(batch, int(round(fraction * batch)))


def router_evasion_examples(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, eps: float, step_size: float,
                            steps: int, norm: Norm) -> torch.Tensor:
    """x_adv for (x, y): the first half regime-"clean"-targeted, the rest low-frequency (see the module doc)."""
    x = x.detach()
    half = (len(x) + 1) // 2
    settings = {"eps": eps, "step_size": step_size, "steps": steps, "norm": norm, "loss": EVASION_LOSS,
                "judge": False}
    parts = []
    with frozen(model) as plain:
        if half:
            parts.append(regime_targeted_pgd(plain, x[:half], y[:half], "clean", start=_draw(EVASION_STARTS),
                                             **settings))
        if len(x) > half:
            resolution = min(int(_draw(RESOLUTIONS)), *x.shape[-2:])
            parts.append(low_frequency_pgd(plain, x[half:], y[half:], resolution, start=_draw(EVASION_STARTS),
                                           **settings))
    return torch.cat(parts).detach()

"""Mixed precision for evaluation: opt-in (`--amp`), and never trusted without a check.

Attacks run in fp32 by default: bf16 rounding can flatten or mask the gradients an attack follows, which
would overstate robustness. With --amp the attacks differentiate the model under bf16 autocast, while the
model under test stays the fp32 one: clean predictions and the judgement of every adversarial example are
fp32, and a sample the bf16 attack believes fooled but fp32 does not is attacked again in fp32
(awbench.evaluation.judging). The evaluation first compares the per-sample PGD results with fp32 and with
bf16 gradients on a slice of clean-correct examples, and says how many differ.
"""

from __future__ import annotations

from dataclasses import fields

import torch
from torch import nn

from awbench.attacks import create_attack
from awbench.attacks.pgd import PGDOptions
from awbench.evaluation import checks as checks_module
from awbench.evaluation.judging import judged_attack, on_device
from awbench.threat import ThreatModel

AMP_SLICE = 64  # examples of the fp32-vs-bf16 check
AMP_TOLERANCE = 0.02  # net surplus of bf16-only survivors (fraction of the slice) above which the check fails


class AutocastModel(nn.Module):
    """Runs the wrapped model under bf16 autocast and returns fp32 logits (what attacks and checks expect)."""

    def __init__(self, model: nn.Module, device_type: str):
        super().__init__()
        self.model, self.device_type = model, device_type

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(self.device_type, dtype=torch.bfloat16):
            return self.model(x).float()


def amp_check(fp32_model: nn.Module, amp_model: nn.Module, x: torch.Tensor, y: torch.Tensor, threat: ThreatModel,
              options: PGDOptions | None, device: torch.device, seed: int) -> dict[str, str]:
    """PGD on the same clean-correct examples, same seed, attacking the fp32 model and the bf16 one, both
    judged in fp32 through the evaluation's path (judged_attack): how many per-sample results differ.

    pass: none differ. fail: bf16 leaves more survivors than fp32 by more than AMP_TOLERANCE of the
    examples (the --amp numbers overstate robustness). flag: some differ, but not that one-sidedly."""
    if not len(x):
        return checks_module.check("pass", "no clean-correct example to compare fp32 and bf16 on")
    survived, reattacked = [], 0
    # the user's PGD knobs (those of the first PGD-based attack asked), else PGD's defaults
    pgd_options = options and PGDOptions(**{item.name: getattr(options, item.name) for item in fields(PGDOptions)})
    xs, ys = on_device(x, device), y.to(device)
    for model in (fp32_model, amp_model):
        attack = create_attack("pgd", threat, pgd_options, batch_size=len(x), seed=seed)
        torch.manual_seed(seed)
        judged = judged_attack(attack, model, fp32_model, xs, ys, reattack_seed=seed + 1)
        survived.append(judged.survived.cpu())
        reattacked += judged.reattacked
    fp32, bf16 = survived
    only_bf16, only_fp32 = int((bf16 & ~fp32).sum()), int((fp32 & ~bf16).sum())
    detail = (f"PGD on {len(x)} clean-correct examples: {int(fp32.sum())} survive fp32, {int(bf16.sum())} survive "
              f"bf16; {only_bf16 + only_fp32} per-sample results differ ({only_bf16} survive only bf16, "
              f"{only_fp32} only fp32); {reattacked} bf16-fooled but fp32-robust examples attacked again in fp32")
    if only_bf16 + only_fp32 == 0:
        return checks_module.check("pass", detail)
    if only_bf16 - only_fp32 > AMP_TOLERANCE * len(x):
        return checks_module.check("fail", detail + "; bf16 overstates robustness: use the fp32 evaluation")
    return checks_module.check("flag", detail + f" (tolerance {AMP_TOLERANCE} of the examples); bf16 gradients "
                               "differ from fp32: the --amp per-sample results are not the fp32 ones")

"""Mixed precision for evaluation: opt-in (`--amp`), and never trusted without a check.

Attacks run in fp32 by default: bf16 rounding can flatten or mask the gradients an attack follows, which
would overstate robustness. With --amp the attacks differentiate the model under bf16 autocast, while the
model under test stays the fp32 one: clean predictions and the judgement of every adversarial example are
fp32. The evaluation first compares PGD robust accuracy with fp32 and with bf16 gradients on a slice of
clean-correct examples.
"""

from __future__ import annotations

import torch
from torch import nn

from awbench.attacks import AttackOptions, create_attack
from awbench.evaluation import checks as checks_module
from awbench.threat import ThreatModel

AMP_SLICE = 64  # examples of the fp32-vs-bf16 check
AMP_TOLERANCE = 0.02  # robust-accuracy difference (fraction) above which the check flags


class AutocastModel(nn.Module):
    """Runs the wrapped model under bf16 autocast and returns fp32 logits (what attacks and checks expect)."""

    def __init__(self, model: nn.Module, device_type: str):
        super().__init__()
        self.model, self.device_type = model, device_type

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(self.device_type, dtype=torch.bfloat16):
            return self.model(x).float()


def amp_check(fp32_model: nn.Module, amp_model: nn.Module, x: torch.Tensor, y: torch.Tensor, threat: ThreatModel,
              options: AttackOptions, device: torch.device, seed: int) -> dict[str, str]:
    """PGD robust accuracy on the same examples, same seed, in fp32 and under bf16 autocast."""
    if not len(x):
        return checks_module.check("pass", "no clean-correct example to compare fp32 and bf16 on")
    accuracies = []
    for model in (fp32_model, amp_model):
        attack = create_attack("pgd", threat, options, batch_size=len(x), seed=seed)
        torch.manual_seed(seed)
        xs, ys = x.to(device), y.to(device)
        x_adv = attack.run(model, xs, ys).x_adv
        with torch.inference_mode():
            accuracies.append(float((fp32_model(x_adv).argmax(1) == ys).float().mean()))
    difference = abs(accuracies[0] - accuracies[1])
    detail = (f"PGD on {len(x)} clean-correct examples: robust accuracy {accuracies[0]:.4f} fp32 vs "
              f"{accuracies[1]:.4f} bf16 (difference {difference:.4f}, tolerance {AMP_TOLERANCE})")
    if difference <= AMP_TOLERANCE:
        return checks_module.check("pass", detail)
    return checks_module.check("flag", detail + "; bf16 may mask gradients: prefer the fp32 evaluation")

"""Attack, then judge: the one path by which an adversarial example becomes a per-sample result.

The judge is the model under test in fp32. With --amp the attack differentiates a bf16 copy (the attack
model), and an attack decides by itself which samples it has fooled (PGD's early stop, the adaptive attack's
choice of candidate, AutoAttack's internal robust flags) with that bf16 model. A sample the attack model
calls fooled but the judge does not would count as robust without having met a full attack. So every
such disagreement is attacked again, with the same attack, on the fp32 judge: no attack needs a special
case, and no sample counts as robust because bf16 rounding stopped its attack early.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import torch
from torch import nn

from awbench.attacks import Attack


@dataclass
class Judged:
    """The adversarial examples of a batch, the judge's verdict on each, and what the attack reported."""

    x_adv: torch.Tensor
    survived: torch.Tensor  # bool [N], on the device
    extras: dict[str, torch.Tensor] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    reattacked: int = 0  # samples attacked again on the fp32 judge after the attack model disagreed with it


def uses_channels_last(device: torch.device) -> bool:
    """On CUDA the model and its inputs run channels_last (faster convolutions); elsewhere contiguous."""
    return device.type == "cuda"


def on_device(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    x = x.to(device, non_blocking=True)
    return x.contiguous(memory_format=torch.channels_last) if uses_channels_last(device) else x


def predict(model: nn.Module, x: torch.Tensor, batch_size: int, device: torch.device) -> torch.Tensor:
    """Predicted classes of `x` (any device; returned on the CPU), batch by batch, without autograd."""
    with torch.inference_mode():
        parts = [model(on_device(x[start:start + batch_size], device)).argmax(1).cpu()
                 for start in range(0, len(x), batch_size)]
    return torch.cat(parts) if parts else torch.empty(0, dtype=torch.long)


def unit_seed(seed: int, attack: str, unit: int) -> int:
    return zlib.crc32(f"{seed}:{attack}:{unit}".encode())


def predictions(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return model(x).argmax(1)


def judged_attack(attack: Attack, attack_model: nn.Module, judge: nn.Module, x: torch.Tensor, y: torch.Tensor, *,
                  reattack_seed: int) -> Judged:
    """Run `attack` on `attack_model` and judge its examples with `judge`; where the attack model calls a
    sample fooled and the judge does not, attack that sample again on the judge (seeded by `reattack_seed`)."""
    output = attack.run(attack_model, x, y)
    x_adv = output.x_adv.detach()
    survived = predictions(judge, x_adv) == y
    judged = Judged(x_adv, survived, dict(output.extras), list(output.flags))
    if attack_model is judge:
        return judged
    disagree = survived & (predictions(attack_model, x_adv) != y)
    if not disagree.any():
        return judged
    torch.manual_seed(reattack_seed)
    again = attack.run(judge, x[disagree], y[disagree])
    x_adv = x_adv.clone()
    x_adv[disagree] = again.x_adv.detach().to(x_adv.dtype)
    survived = survived.clone()
    survived[disagree] = predictions(judge, x_adv[disagree]) == y[disagree]
    extras = dict(judged.extras)
    for name, values in again.extras.items():
        if name in extras and extras[name].shape[0] == len(y):
            extras[name] = extras[name].clone()
            extras[name][disagree] = values.to(extras[name].dtype)
    return Judged(x_adv, survived, extras, judged.flags + list(again.flags), int(disagree.sum()))

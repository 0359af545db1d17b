"""Units of work of one attack: scheduling, resume from the state file, and sharding under torchrun.

An attack meets its examples in units (a batch; a chunk for AutoAttack). A unit's random draws depend only on
(seed, attack, unit), never on the process, so a resumed or sharded evaluation gives exactly the per-sample
results of one uninterrupted process.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from awbench import distributed
from awbench.attacks import Attack
from awbench.evaluation import checks as checks_module
from awbench.evaluation.judging import judged_attack, on_device, unit_seed
from awbench.evaluation.state import EvaluationState

AUDIT_PER_UNIT = 16  # adversarial examples per unit kept in memory and judged again at the end


@dataclass
class AttackRecord:
    survived: torch.Tensor  # bool [n], over all selected examples
    attacked: int = 0
    seconds: float = 0.0
    budget: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, torch.Tensor] = field(default_factory=dict)  # name -> values of attacked examples
    flags: list[str] = field(default_factory=list)
    resumed_units: int = 0
    resumed_seconds: float = 0.0  # work done by an earlier, interrupted run and taken from its state file
    reattacked: int = 0  # --amp: samples attacked again in fp32 after bf16 and fp32 disagreed
    audit: list[tuple[list[int], torch.Tensor]] = field(default_factory=list)  # (positions, x_adv) to re-judge


def compute_unit(model: nn.Module, attack: Attack, x: torch.Tensor, y: torch.Tensor, positions: torch.Tensor,
                 index: int, *, device: torch.device,
                 judge: nn.Module | None = None) -> tuple[dict[str, Any], tuple[list[int], torch.Tensor]]:
    """Run one unit of work; its random draws depend only on (seed, attack, unit), never on the process.

    `model` is what the attack differentiates; `judge` (default: the same) re-predicts its examples, and
    attacks again, on itself, a sample the two disagree on (awbench.evaluation.judging). Returns the unit's
    stored result and a few of its adversarial examples (positions, x_adv on the CPU) to judge again later."""
    began = time.perf_counter()
    seed = attack.seed
    torch.manual_seed(unit_seed(seed, attack.name, index))
    xs, ys = on_device(x[positions], device), y[positions].to(device)
    judged = judged_attack(attack, model, judge or model, xs, ys,
                           reattack_seed=unit_seed(seed, attack.name + ":fp32", index))
    budget = checks_module.budget_stats(xs, judged.x_adv, attack.threat)
    kept = torch.linspace(0, len(positions) - 1, min(AUDIT_PER_UNIT, len(positions))).round().long()
    result = {
        "positions": positions.tolist(), "survived": judged.survived.cpu().int().tolist(), "budget": budget,
        "extras": {name: values.detach().float().cpu().tolist() for name, values in judged.extras.items()},
        "flags": judged.flags, "reattacked": judged.reattacked, "seconds": time.perf_counter() - began,
    }
    return result, (positions[kept].tolist(), judged.x_adv[kept.to(judged.x_adv.device)].detach().cpu())


def run_attack(model: nn.Module, attack: Attack, x: torch.Tensor, y: torch.Tensor, targets: torch.Tensor, *,
               state: EvaluationState, device: torch.device, bar: Any,
                world: distributed.World = distributed.SINGLE, judge: nn.Module | None = None) -> AttackRecord:
    """Run `attack` on examples `targets` (positions into x), unit by unit, resuming stored units.

    Under torchrun the units are dealt out in rounds: in each round rank r runs unit (round start + r), then
    every rank receives every unit's result. A unit's result does not depend on which process ran it, so a
    sharded evaluation gives exactly the per-sample results of a single process.
    """
    record = AttackRecord(survived=torch.zeros(len(x), dtype=torch.bool), attacked=len(targets))
    settings = {"threat": [attack.threat.norm.value, attack.threat.eps], **attack.describe()}
    size = attack.unit_size(attack.batch_size)
    units = [(index, targets[start:start + size]) for index, start in enumerate(range(0, len(targets), size))]
    results: dict[int, dict[str, Any]] = {}
    resumed: set[int] = set()
    for round_start in range(0, len(units), world.size):
        round_units = units[round_start:round_start + world.size]
        computed: dict[int, tuple[dict[str, Any], Any]] = {}
        for offset, (index, positions) in enumerate(round_units):
            stored = state.unit(attack.name, settings, index, positions.tolist())
            if stored is not None:
                results[index] = stored
                resumed.add(index)
            elif offset == world.rank:
                computed[index] = compute_unit(model, attack, x, y, positions, index, device=device, judge=judge)
        for part in distributed.gather_objects(world, computed):
            for index, (stored, audit) in part.items():
                results[index] = stored
                record.audit.append(audit)
                state.store(attack.name, settings, index, stored)
        if bar is not None:
            bar.advance(sum(len(positions) for _, positions in round_units))
    budgets, extras = [], {}
    for index, positions in units:
        stored = results[index]
        record.survived[positions] = torch.tensor(stored["survived"], dtype=torch.bool)
        budgets.append(stored["budget"])
        for name, values in stored["extras"].items():
            extras.setdefault(name, []).extend(values)
        record.flags.extend(stored["flags"])
        record.reattacked += int(stored.get("reattacked", 0))
        if index in resumed:
            record.resumed_units += 1
            record.resumed_seconds += stored["seconds"]
        else:
            record.seconds += stored["seconds"]
    record.budget = checks_module.merge_budget(budgets)
    record.extras = {name: torch.tensor(values) for name, values in extras.items()}
    return record


class ProgressBar:
    """One attack's bar in a rich progress display."""

    def __init__(self, bars: Any, task: Any):
        self.bars, self.task = bars, task

    def advance(self, count: int) -> None:
        self.bars.advance(self.task, count)

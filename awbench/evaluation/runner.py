"""Run attacks on a model over a fixed, seeded, class-balanced set of test examples, with self-checks.

Only clean-correct examples are attacked (a misclassified one counts as broken by every attack). Without
cascade each attack meets every clean-correct example, so its number means "this attack alone"; with
cascade each attack (cheapest first) meets only the survivors of the previous ones, so its number means
"after the cascade up to here", and only the worst case is comparable with a non-cascade run. Every
attack's examples are re-predicted here and budget-checked batch by batch; attacks are not trusted.
"""

from __future__ import annotations

import hashlib
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from awbench import distributed
from awbench.attacks import Attack, AttackOptions, create_attack, dynamic
from awbench.console import console, progress
from awbench.device import compile_model
from awbench.evaluation import checks as checks_module
from awbench.evaluation import dynamic_models, probes
from awbench.evaluation.judging import judged_attack, on_device, unit_seed, uses_channels_last
from awbench.evaluation.precision import AMP_SLICE, AutocastModel, amp_check
from awbench.evaluation.state import EvaluationState
from awbench.threat import ThreatModel

AUDIT_PER_UNIT = 16  # adversarial examples per unit kept in memory and judged again at the end
CONSISTENT_PAIRS = [("pgd", "autoattack")]  # (weaker, stronger): compared when both met the same examples


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


def build_attacks(names: list[str], threat: ThreatModel, options: AttackOptions, *, batch_size: int,
                  seed: int) -> list[Attack]:
    """Attack objects for `names` (duplicates dropped); raises AwbenchError on a bad name or threat model."""
    return [create_attack(name, threat, options, batch_size=batch_size, seed=seed) for name in dict.fromkeys(names)]


def model_fingerprint(model: nn.Module) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _fraction(flags: torch.Tensor) -> float:
    return int(flags.sum()) / len(flags) if len(flags) else 0.0


def _on_device(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    return on_device(x, device)


def _clean_pass(model: nn.Module, x: torch.Tensor, batch_size: int,
                device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(predictions of all of `x`, logits of its first batch), without autograd."""
    predictions, first = [], torch.empty(0)
    with torch.inference_mode():
        for start in range(0, len(x), batch_size):
            logits = model(_on_device(x[start:start + batch_size], device)).float()
            first = logits if start == 0 else first
            predictions.append(logits.argmax(1).cpu())
    return (torch.cat(predictions) if predictions else torch.empty(0, dtype=torch.long)), first


def _compute_unit(model: nn.Module, attack: Attack, x: torch.Tensor, y: torch.Tensor, positions: torch.Tensor,
                  index: int, *, device: torch.device, seed: int,
                  judge: nn.Module | None = None) -> tuple[dict[str, Any], tuple[list[int], torch.Tensor]]:
    """Run one unit of work; its random draws depend only on (seed, attack, unit), never on the process.

    `model` is what the attack differentiates; `judge` (default: the same) re-predicts its examples, and
    attacks again, on itself, a sample the two disagree on (awbench.evaluation.judging). Returns the unit's
    stored result and a few of its adversarial examples (positions, x_adv on the CPU) to judge again later."""
    began = time.perf_counter()
    torch.manual_seed(unit_seed(seed, attack.name, index))
    xs, ys = _on_device(x[positions], device), y[positions].to(device)
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


def _run_attack(model: nn.Module, attack: Attack, x: torch.Tensor, y: torch.Tensor, targets: torch.Tensor, *,
                state: EvaluationState, device: torch.device, seed: int, bar: Any,
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
                computed[index] = _compute_unit(model, attack, x, y, positions, index, device=device, seed=seed,
                                                judge=judge)
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


def _rejudge(judge: nn.Module, record: AttackRecord, x: torch.Tensor, y: torch.Tensor, device: torch.device,
             randomised: bool) -> checks_module.Check:
    positions = [position for kept, _ in record.audit for position in kept]
    audit_x = torch.cat([x_adv for _, x_adv in record.audit]) if record.audit else x[:0]
    index = torch.tensor(positions, dtype=torch.long)
    return probes.rejudge_check(judge, audit_x, y[index], record.survived[index], device, randomised)


def evaluate_model(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    attacks: list[Attack],
    options: AttackOptions,
    threat: ThreatModel,
    batch_size: int,
    seed: int,
    device: torch.device,
    cascade: bool = False,
    out: Path | None = None,
    show_progress: bool = True,
    world: distributed.World = distributed.SINGLE,
    amp: bool = False,
    compile: bool | str = False,
    attack_only: dict[str, torch.Tensor] | None = None,
    model_identity: dict[str, Any] | None = None,
    dynamic_defaults: bool = True,
) -> dict[str, Any]:
    """Core of the evaluation on images `x` (float [0, 1], CPU) and labels `y`; returns the results part of
    the summary plus `per_sample` columns. `evaluate_checkpoint` wraps it with loading and files.
    `compile`: torch.compile the model (True: inductor; a string: that backend) before anything runs.
    `attack_only`: {attack: bool mask over x}; an example outside its mask is not attacked and counts as
    broken (the eps sweep: it was broken at a smaller budget). `model_identity`: what built the model beyond its
    weights (a foreign model's source: code, arguments, normalisation), part of the resume key.
    A model with a router also meets the adaptive suite and AutoAttack (`dynamic_defaults=False` opts out and
    flags the summary) and gets per-regime bounds (evaluation.dynamic_models)."""
    model = model.to(device).eval()
    if uses_channels_last(device):
        model = model.to(memory_format=torch.channels_last)
    uncompiled = model
    fingerprint = model_fingerprint(model)  # of the weights, whatever wraps them below
    if compile:
        model = compile_model(model, compile, dynamic=True)
        if show_progress and world.is_main:
            console.print("[dim]torch.compile: each new kind of call (no grad, grad, autocast...) compiles "
                          "first; expect a pause before the bars move[/dim]")
    n = len(y)
    results: dict[str, Any] = {"checks": {}, "seconds": {}, "details": {}}
    began = time.perf_counter()
    clean_prediction, first_logits = _clean_pass(model, x, batch_size, device)
    clean_correct = clean_prediction == y
    results["seconds"]["clean"] = time.perf_counter() - began
    results["checks"].update(probes.clean_pass_checks(model, x, first_logits, batch_size, device))
    randomised = results["checks"]["deterministic"]["status"] != "pass"
    judge = model  # the model under test, in fp32: it gives the clean predictions and judges every attack
    correct = torch.nonzero(clean_correct).flatten()
    if amp:  # attacks differentiate under bf16 autocast from here on, once the check has compared it with fp32
        amp_model = AutocastModel(model, device.type)
        results["checks"]["amp_matches_fp32"] = amp_check(model, amp_model, x[correct[:AMP_SLICE]],
                                                          y[correct[:AMP_SLICE]], threat, options, device, seed)
        model = amp_model
    results["checks"]["eps0_pgd_equals_clean"] = probes.eps0_check(model, judge, x, y, clean_prediction, options,
                                                                   threat, device, randomised)
    sliced = correct[:probes.LARGE_EPS_SLICE]
    results["checks"]["large_eps_breaks_all"] = probes.large_eps_check(model, judge, x[sliced], y[sliced], options,
                                                                       device, seed, randomised)

    is_dynamic = dynamic.model_is_dynamic(model) or dynamic.router_of(model) is not None
    attacks, attack_set_check = dynamic_models.with_dynamic_defaults(
        attacks, model, enabled=dynamic_defaults, threat=threat, options=options, batch_size=batch_size, seed=seed)
    for attack in attacks:
        attack.check_model(model)
    if cascade:
        attacks.sort(key=lambda attack: attack.cost)  # the worst case does not depend on the order

    state = EvaluationState.open(out, {
        "model": fingerprint, "amp": amp, "labels": hashlib.sha256(y.numpy().tobytes()).hexdigest(),
        "images": hashlib.sha256(x.numpy().tobytes()).hexdigest(), "norm": threat.norm.value, "eps": threat.eps,
        "seed": seed, "batch_size": batch_size, "cascade": cascade,
        **({"model_identity": model_identity} if model_identity is not None else {}),
    })
    if not world.is_main:
        state.path = None  # rank 0 alone writes the state file
    show_progress = show_progress and world.is_main
    records: dict[str, AttackRecord] = {}
    alive = clean_correct.clone()
    bars = progress() if show_progress else nullcontext()
    with bars:
        for attack in attacks:
            allowed = (attack_only or {}).get(attack.name, torch.ones(n, dtype=torch.bool))
            targets = torch.nonzero((alive if cascade else clean_correct) & allowed).flatten()
            bar = None
            if show_progress:
                task = bars.add_task(attack.name, total=len(targets), info="")
                bar = _Bar(bars, task)
            record = _run_attack(model, attack, x, y, targets, state=state, device=device, seed=seed, bar=bar,
                                 world=world, judge=judge)
            if record.resumed_units and world.is_main:
                console.print(f"[dim]{attack.name}: {record.resumed_units} finished unit(s) taken from {out}")
            records[attack.name] = record
            if cascade:
                alive &= record.survived

    worst = clean_correct.clone()
    for record in records.values():
        worst &= record.survived
    clean_accuracy = _fraction(clean_correct)
    robust = {name: _fraction(record.survived) for name, record in records.items()}
    worst_case = _fraction(worst)
    for attack in attacks:
        record = records[attack.name]
        results["seconds"][attack.name] = record.seconds
        if record.resumed_units:
            results.setdefault("resumed_seconds", {})[attack.name] = record.resumed_seconds
        results["checks"][f"budget:{attack.name}"] = checks_module.budget_check(record.budget, threat)
        results["checks"][f"rejudged:{attack.name}"] = _rejudge(judge, record, x, y, device, randomised)
        details = {"attacked": record.attacked, "settings": attack.describe(), **attack.summarize(record.extras, n)}
        if record.resumed_units:
            details["resumed_units"] = record.resumed_units
        if amp:
            details["reattacked_in_fp32"] = record.reattacked
        results["details"][attack.name] = details
        if attack.name == "autoattack":
            results["checks"]["autoattack_flags"] = (
                checks_module.flags_check(record.flags, "AutoAttack") if record.attacked
                else checks_module.check("pass", "AutoAttack did not run: no example left to attack"))
            for message in dict.fromkeys(record.flags):
                console.print(f"[yellow]AutoAttack flag:[/] {message}")
    if not cascade:  # under --cascade a later attack meets only the earlier ones' survivors: nothing to compare
        for weaker, stronger in CONSISTENT_PAIRS:
            if weaker in records and stronger in records:
                reduced = stronger == "autoattack" and options.version == "custom"
                check = checks_module.attack_consistency_check(
                    weaker, stronger, records[weaker].survived[correct], records[stronger].survived[correct])
                if reduced and check["status"] == "fail":  # a reduced AutoAttack may be weaker: say so, no more
                    check = checks_module.check("flag", check["detail"] + " (reduced, custom AutoAttack)")
                results["checks"][f"{weaker}_vs_{stronger}"] = check
    if attack_set_check is not None:  # `dynamic` is the summary's label; this says what a dynamic model met
        results["checks"]["dynamic_attack_set"] = attack_set_check
        results["regime_bounds"], pinned_checks = dynamic_models.regime_bounds(
            evaluate_model, uncompiled, x, y, attacks=attacks, adaptive_summary=results["details"].get("adaptive"),
            out=out, options=options, threat=threat, batch_size=batch_size, seed=seed, device=device,
            cascade=cascade, show_progress=show_progress, world=world, amp=amp)
        results["checks"].update(pinned_checks)
    results["seconds"]["total"] = time.perf_counter() - began
    results.update(
        n_examples=n, clean_accuracy=clean_accuracy, robust_accuracy=robust, worst_case_accuracy=worst_case,
        dynamic=is_dynamic, amp=amp, compiled=bool(compile), attacks=[attack.name for attack in attacks],
        cascade=cascade,
        per_attack_accuracy_means=("after cascade: survivors of this attack and every earlier one, in run order"
                                   if cascade else "this attack alone, on every clean-correct example"),
        per_sample={"label": y.tolist(), "clean_prediction": clean_prediction.tolist(),
                    **{name: record.survived.int().tolist() for name, record in records.items()},
                    "all": worst.int().tolist()},
    )
    return results


class _Bar:
    def __init__(self, bars: Any, task: Any):
        self.bars, self.task = bars, task

    def advance(self, count: int) -> None:
        self.bars.advance(self.task, count)

"""Run attacks on a model over a fixed, seeded, class-balanced set of test examples, with self-checks.

Only clean-correct examples are attacked (a misclassified one counts as broken by every attack). Without
cascade each attack meets every clean-correct example, so its number means "this attack alone"; with
cascade each attack (cheapest first) meets only the survivors of the previous ones, so its number means
"after the cascade up to here", and only the worst case is comparable with a non-cascade run. Every
attack's examples are re-predicted here and budget-checked batch by batch; attacks are not trusted.

The parts live apart: units of work, resume and sharding in `units`; the probes of the model in
`probes.model_checks`; this module runs the attack loop and assembles the results.
"""

from __future__ import annotations

import hashlib
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch
from torch import nn

from awbench import distributed
from awbench.attacks import Attack, dynamic
from awbench.console import console, progress
from awbench.device import compile_model
from awbench.errors import AwbenchError
from awbench.evaluation import checks as checks_module
from awbench.evaluation import dynamic_models, probes
from awbench.evaluation.judging import on_device, uses_channels_last
from awbench.evaluation.state import EvaluationState
from awbench.evaluation.units import AttackRecord, ProgressBar, run_attack


def model_fingerprint(model: nn.Module) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _fraction(flags: torch.Tensor) -> float:
    return int(flags.sum()) / len(flags) if len(flags) else 0.0


def _clean_pass(model: nn.Module, x: torch.Tensor, batch_size: int,
                device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(predictions of all of `x`, logits of its first batch), without autograd."""
    predictions, first = [], torch.empty(0)
    with torch.inference_mode():
        for start in range(0, len(x), batch_size):
            logits = model(on_device(x[start:start + batch_size], device)).float()
            first = logits if start == 0 else first
            predictions.append(logits.argmax(1).cpu())
    return (torch.cat(predictions) if predictions else torch.empty(0, dtype=torch.long)), first


def _rejudge(judge: nn.Module, record: AttackRecord, x: torch.Tensor, y: torch.Tensor, device: torch.device,
             randomised: bool) -> checks_module.Check:
    positions = [position for kept, _ in record.audit for position in kept]
    audit_x = torch.cat([x_adv for _, x_adv in record.audit]) if record.audit else x[:0]
    index = torch.tensor(positions, dtype=torch.long)
    return probes.rejudge_check(judge, audit_x, y[index], record.survived[index], device, randomised)


def _shared_settings(attacks: list[Attack]) -> tuple[Any, int, int]:
    """(threat model, batch size, seed) that every attack of one evaluation carries alike."""
    if not attacks:
        raise AwbenchError("give at least one --attack")
    shared = {(attack.threat, attack.batch_size, attack.seed) for attack in attacks}
    if len(shared) > 1:
        raise AwbenchError(f"the attacks of one evaluation need one threat model, batch size and seed; got {shared}")
    return shared.pop()


def evaluate_model(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    attacks: list[Attack],
    *,
    device: torch.device,
    cascade: bool = False,
    out: Path | None = None,
    show_progress: bool = True,
    world: distributed.World = distributed.SINGLE,
    amp: bool = False,
    compile: bool | str = False,
    attack_only: dict[str, torch.Tensor] | None = None,
    model_identity: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Core of the evaluation on images `x` (float [0, 1], CPU) and labels `y`; returns the results part of
    the summary plus `per_sample` columns. `evaluate_checkpoint` wraps it with loading and files.
    `attacks` carry the threat model, their options, the batch size and the seed (one of each for all), and
    accept the model (`Attack.check_model`, called here and by evaluate_checkpoint before any work).
    `compile`: torch.compile the model (True: inductor; a string: that backend) before anything runs.
    `attack_only`: {attack: bool mask over x}; an example outside its mask is not attacked and counts as
    broken (the eps sweep: it was broken at a smaller budget). `model_identity`: what built the model beyond its
    weights (a foreign model's source: code, arguments, normalisation), part of the resume key.
    A model with a router gets per-regime bounds, and a flag when an attack it must meet
    (`Attack.added_for_dynamic_models`) is missing (evaluation.dynamic_models)."""
    threat, batch_size, seed = _shared_settings(attacks)
    for attack in attacks:  # one-line errors before any work (evaluate_checkpoint has checked them too)
        attack.check_model(model)
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
    judge = model  # the model under test, in fp32: it gives the clean predictions and judges every attack
    model_checks, attack_model, randomised = probes.model_checks(model, x, y, clean_prediction, first_logits, attacks,
                                                                 device=device, amp=amp)
    results["checks"].update(model_checks)
    correct = torch.nonzero(clean_correct).flatten()
    is_dynamic = dynamic.model_is_dynamic(model)  # the one answer for a built model (not pinned, has a router)
    attack_set_check = dynamic_models.attack_set_check(attacks, model)
    attacks = sorted(attacks, key=lambda attack: attack.cost) if cascade else list(attacks)  # worst case: same

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
            bar = ProgressBar(bars, bars.add_task(attack.name, total=len(targets), info="")) if show_progress else None
            record = run_attack(attack_model, attack, x, y, targets, state=state, device=device, bar=bar,
                                world=world, judge=judge)
            if record.resumed_units and world.is_main:
                console.print(f"[dim]{attack.name}: {record.resumed_units} finished unit(s) taken from {out}")
            records[attack.name] = record
            if cascade:
                alive &= record.survived

    worst = clean_correct.clone()
    for record in records.values():
        worst &= record.survived
    robust = {name: _fraction(record.survived) for name, record in records.items()}
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
        if attack.flags_label:
            results["checks"][f"{attack.name}_flags"] = (
                checks_module.flags_check(record.flags, attack.flags_label) if record.attacked
                else checks_module.check("pass", f"{attack.flags_label} did not run: no example left to attack"))
            for message in dict.fromkeys(record.flags):
                console.print(f"[yellow]{attack.flags_label} flag:[/] {message}")
    if not cascade:  # under --cascade a later attack meets only the earlier ones' survivors: nothing to compare
        results["checks"].update(_consistency_checks(attacks, records, correct))
    if attack_set_check is not None:  # `dynamic` is the summary's label; this says what a dynamic model met
        results["checks"]["dynamic_attack_set"] = attack_set_check
        results["regime_bounds"], pinned_checks = dynamic_models.regime_bounds(
            evaluate_model, uncompiled, x, y, attacks=attacks, details=results["details"], out=out,
            device=device, cascade=cascade, show_progress=show_progress, world=world, amp=amp)
        results["checks"].update(pinned_checks)
    results["seconds"]["total"] = time.perf_counter() - began
    results.update(
        n_examples=n, clean_accuracy=_fraction(clean_correct), robust_accuracy=robust,
        worst_case_accuracy=_fraction(worst), dynamic=is_dynamic, amp=amp, compiled=bool(compile),
        attacks=[attack.name for attack in attacks], cascade=cascade,
        per_attack_accuracy_means=("after cascade: survivors of this attack and every earlier one, in run order"
                                   if cascade else "this attack alone, on every clean-correct example"),
        per_sample={"label": y.tolist(), "clean_prediction": clean_prediction.tolist(),
                    **{name: record.survived.int().tolist() for name, record in records.items()},
                    "all": worst.int().tolist()},
    )
    return results


def _consistency_checks(attacks: list[Attack], records: dict[str, AttackRecord],
                        correct: torch.Tensor) -> dict[str, checks_module.Check]:
    """`<weaker>_vs_<stronger>` for every attack that must leave no more survivors than another that also ran."""
    found = {}
    for stronger in attacks:
        for weaker in stronger.stronger_than:
            if weaker not in records:
                continue
            check = checks_module.attack_consistency_check(
                weaker, stronger.name, records[weaker].survived[correct], records[stronger.name].survived[correct])
            if stronger.reduced and check["status"] == "fail":  # a reduced variant may be weaker: say so, no more
                check = checks_module.check("flag", check["detail"] + f" (reduced, {stronger.reduced})")
            found[f"{weaker}_vs_{stronger.name}"] = check
    return found

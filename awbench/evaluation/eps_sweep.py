"""Robustness curves: one checkpoint evaluated at several budgets on the same examples, in one command.

    awbench eval CKPT --eps 1/255,2/255,4/255,8/255,16/255 -a pgd

Budgets run from the smallest up. An adversarial example found within eps is within every larger eps, so an
example an attack broke at a smaller budget counts as broken by that attack at every larger one and is not
attacked again: larger budgets attack the survivors, plus a few examples already broken (the re-check below).
Each budget is an ordinary evaluation in its own folder `OUT/eps-<budget>/` (summary.json, per_sample.csv,
resumable), every summary carries an `eps_sweep` entry, and `OUT/sweep.json` holds the per-eps table and the
sweep's checks.

How a per-eps number relates to a separate evaluation at that eps: for an attack without random starts each
example's verdict is the separate evaluation's, or "broken" where a smaller budget broke it, so the sweep's
number is at most the separate one. With random starts the draws depend on which examples share an attack
unit, and the sweep attacks fewer examples, so its numbers can differ from a separate evaluation's in either
direction, within the attack's run-to-run noise.

Checks (in each budget's summary and in sweep.json; never hidden):
  * `sweep_recheck:<attack>`: at each larger budget the attack also meets up to RECHECK_EXAMPLES examples it
    broke at the previous budget; it must break them again (they lie within the larger ball). Misses mean the
    attack got weaker as the budget grew, and re-used "broken" verdicts then flatter the curve: fail (flag for
    a single miss or a randomised model). The re-attacked examples keep the new verdict in the numbers.
  * `sweep_stalled:<attack>` (only when it flags): the attack broke none of at least STALL_MIN survivors of the
    previous budget, while the runner's `large_eps_breaks_all` says a large-budget PGD breaks these examples.
  * `sweep_large_eps`: at Linf eps >= 0.5 (any image can be turned mid-grey) at most
    checks.LARGE_EPS_SURVIVORS of the examples (at least one) may survive: more means the attack, not the model,
    failed (fail; flag for a randomised model). The runner's own `large_eps_breaks_all` is kept as it is.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from awbench.console import console
from awbench.errors import AwbenchError
from awbench.evaluation import checks as checks_module
from awbench.evaluation.api import default_out, evaluate_checkpoint
from awbench.evaluation.report import rewrite_summary
from awbench.files import atomic_write
from awbench.run_layout import PER_SAMPLE, SWEEP
from awbench.threat import parse_eps

UNBOUNDED_LINF_EPS = 0.5  # every pixel may move half-way: any image can be turned into mid-grey
RECHECK_EXAMPLES = 8  # examples broken at the previous budget that each attack meets again at the next one
STALL_MIN = 10  # survivors an attack must meet before "it broke none of them" is worth a flag
DUPLICATE_TOLERANCE = 1e-12
REUSE_NOTE = ("an example broken by an attack at a smaller eps counts as broken by it here and was not "
              f"attacked again, except up to {RECHECK_EXAMPLES} re-attacked as a check (sweep_recheck); larger "
              "budgets attack only the survivors")


def is_eps_list(text: str | None) -> bool:
    """True when --eps names several budgets (a comma-separated list)."""
    return isinstance(text, str) and "," in text


def _budgets(items: list[str | float]) -> list[float]:
    values: list[float] = []
    for item in items:
        value = parse_eps(item)  # one-line errors for a non-number and for a value outside [0, 1]
        if any(abs(value - seen) < DUPLICATE_TOLERANCE for seen in values):
            raise AwbenchError(f"--eps lists the budget {item} twice")
        values.append(value)
    return sorted(values)


def parse_eps_list(text: str) -> list[float]:
    """'1/255,2/255,8/255' -> [1/255, 2/255, 8/255] (sorted); a non-number, negative or repeated value raises."""
    items = [item.strip() for item in str(text).split(",")]
    if any(not item for item in items):
        raise AwbenchError(f"--eps '{text}' has an empty item; give budgets like 1/255,2/255,4/255")
    return _budgets(items)


def eps_folder_name(eps: float, norm: str) -> str:
    """eps-8_255 for an Linf budget of exactly k/255, else eps-<repr> (eps-0.5): distinct budgets, distinct
    folders (a name safe on every file system)."""
    steps = round(eps * 255)
    if norm == "Linf" and eps > 0 and steps / 255 == eps:
        return f"eps-{steps}_255"
    return f"eps-{eps!r}"


def unbounded_check(eps: float, norm: str, worst: float, count: int | None = None,
                    randomised: bool = False) -> dict[str, str] | None:
    """At Linf eps >= 0.5 at most checks.LARGE_EPS_SURVIVORS of `count` examples (at least one) may survive,
    as in the runner's large_eps_breaks_all; None below that budget or for L2. Without `count`, one survivor
    in a hundred examples is allowed."""
    if norm != "Linf" or eps < UNBOUNDED_LINF_EPS:
        return None
    count = int(count) if count else 100
    survivors = round(worst * count)
    allowed = max(1, int(checks_module.LARGE_EPS_SURVIVORS * count))
    detail = (f"worst case {worst:.4f} at Linf eps {eps:g}: {survivors} of {count} examples survive (at most "
              f"{allowed} allowed)")
    if survivors <= allowed:
        return checks_module.check("pass", detail)
    detail += ": the attack fails where no model can be robust; its numbers at smaller budgets overstate robustness"
    return checks_module.check("flag" if randomised else "fail", detail + (" (randomised model)" if randomised else ""))


def recheck_check(attack: str, rechecked: int, missed: int, previous_eps: float, eps: float,
                  randomised: bool) -> dict[str, str]:
    """The attack met again `rechecked` examples it broke at `previous_eps`; `missed` of them survived at `eps`."""
    detail = (f"{attack} re-attacked at eps {eps:.5g} {rechecked} examples it broke at eps {previous_eps:.5g}: "
              f"{missed} survived")
    if not rechecked:
        return checks_module.check("pass", f"{attack} broke no example at eps {previous_eps:.5g}: nothing to re-check")
    if not missed:
        return checks_module.check("pass", detail + " (all broken again)")
    detail += (": the attack is weaker at the larger budget, so the verdicts re-used from smaller budgets flatter "
               "the curve; the re-attacked examples count as survivors here")
    if randomised or missed <= 1:
        return checks_module.check("flag", detail + (" (randomised model)" if randomised else ""))
    return checks_module.check("fail", detail)


def stalled_check(attack: str, attacked: int, broken: int, eps: float,
                  large_eps: dict[str, str] | None) -> dict[str, str] | None:
    """A flag when the attack broke none of >= STALL_MIN survivors while large_eps_breaks_all passed; else None."""
    if attacked < STALL_MIN or broken or not large_eps or large_eps["status"] != "pass":
        return None
    return checks_module.check("flag", f"{attack} broke none of the {attacked} survivors it attacked at eps "
                                       f"{eps:.5g}, while large_eps_breaks_all says a large-budget PGD breaks "
                                       "these examples: a stalled attack?")


def _per_sample(folder: Path) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """(clean_correct, {attack: survived}) from a budget's per_sample.csv."""
    frame = pd.read_csv(folder / PER_SAMPLE)
    correct = torch.tensor((frame["label"] == frame["clean_prediction"]).to_numpy(dtype=bool))
    return correct, {name[len("survived_"):]: torch.tensor(frame[name].to_numpy(dtype=bool))
                     for name in frame.columns if name.startswith("survived_") and name != "survived_all"}


def recheck_mask(broken: torch.Tensor, count: int = RECHECK_EXAMPLES) -> torch.Tensor:
    """Up to `count` of the `broken` examples, spread evenly over their positions."""
    positions = torch.nonzero(broken).flatten()
    chosen = torch.zeros_like(broken)
    if len(positions):
        picks = torch.linspace(0, len(positions) - 1, min(count, len(positions))).round().long()
        chosen[positions[picks]] = True
    return chosen


def _randomised(summary: dict[str, Any]) -> bool:
    return summary["checks"].get("deterministic", {}).get("status", "pass") != "pass"


def evaluate_eps_sweep(checkpoint: str | Path, *, eps: str | list[float], out: str | Path | None = None,
                       **evaluate_options: Any) -> dict[str, Any]:
    """Evaluate `checkpoint` at every budget of `eps` (a list or '1/255,2/255,...') on the same examples.

    `evaluate_options` are those of `evaluate_checkpoint` (attacks, norm, n_examples, seed, ...). Returns
    {"out", "eps", "table" (one dict per eps), "checks" ({"<folder>/<check>": check}), "summaries"}; writes
    OUT/sweep.json.
    """
    budgets = parse_eps_list(eps) if isinstance(eps, str) else _budgets(list(eps))
    if len(budgets) < 2:
        raise AwbenchError("an eps sweep needs at least two budgets, e.g. --eps 4/255,8/255")
    norm = str(evaluate_options.get("norm") or "Linf")
    root = Path(out) if out is not None else default_out(Path(checkpoint))
    summaries: list[dict[str, Any]] = []
    sweep_checks: list[dict[str, dict[str, str]]] = []
    survivors: dict[str, torch.Tensor] | None = None
    rechecks: dict[str, torch.Tensor] = {}
    for index, value in enumerate(budgets):
        attack_only = None if survivors is None else {name: alive | rechecks[name] for name, alive in survivors.items()}
        summary = evaluate_checkpoint(checkpoint, eps=value, out=root / eps_folder_name(value, norm),
                                      attack_only=attack_only, **evaluate_options)
        correct, survived = _per_sample(Path(summary["out"]))
        randomised, found = _randomised(summary), {}
        if survivors is not None:
            for name, now in survived.items():
                if name not in survivors:
                    continue
                checked = rechecks[name]
                found[f"sweep_recheck:{name}"] = recheck_check(name, int(checked.sum()), int((checked & now).sum()),
                                                               budgets[index - 1], value, randomised)
                met = survivors[name] & correct
                stalled = stalled_check(name, int(met.sum()), int((met & ~now).sum()), value,
                                        summary["checks"].get("large_eps_breaks_all"))
                if stalled is not None:
                    found[f"sweep_stalled:{name}"] = stalled
        large = unbounded_check(value, str(summary["norm"]), float(summary["worst_case_accuracy"]),
                                summary.get("n_examples"), randomised)
        if large is not None:
            found["sweep_large_eps"] = large
        survivors = survived
        rechecks = {name: recheck_mask(correct & ~alive) for name, alive in survived.items()}
        summaries.append(summary)
        sweep_checks.append(found)
    attacks = list(summaries[-1]["attacks"])
    table = pd.DataFrame([{
        "eps": summary["eps"], "norm": summary["norm"], "clean_accuracy": summary["clean_accuracy"],
        **{f"robust_{name}": summary["robust_accuracy"].get(name) for name in attacks},
        "worst_case_accuracy": summary["worst_case_accuracy"],
        "seconds": summary["seconds"].get("total"),
    } for summary in summaries])
    checks = {}
    for summary, found in zip(summaries, sweep_checks, strict=True):
        summary["eps_sweep"] = {"eps": budgets, "reuse": REUSE_NOTE, "sweep_file": str(root / SWEEP)}
        summary["checks"].update(found)  # own keys: the runner's checks (large_eps_breaks_all...) stay as they are
        checks.update({f"{Path(summary['out']).name}/{name}": check for name, check in found.items()})
        rewrite_summary(summary)
    record = {"checkpoint": summaries[-1]["checkpoint"], "eps": budgets, "reuse": REUSE_NOTE,
              "table": table.to_dict(orient="records"), "checks": checks,
              "folders": [summary["out"] for summary in summaries]}
    text = json.dumps(record, indent=2)
    atomic_write(root / SWEEP, lambda handle: handle.write(text.encode()))
    return {"out": str(root), "eps": budgets, "table": record["table"], "checks": checks, "summaries": summaries}


def print_sweep(result: dict[str, Any]) -> None:
    """The per-eps table and the sweep's checks, on the console (stderr)."""
    from rich.table import Table

    table = Table(title=f"eps sweep: {len(result['eps'])} budgets on the same examples",
                  caption="accuracies in %; " + REUSE_NOTE)
    rows = result["table"]
    attacks = [name for name in rows[0] if name.startswith("robust_")]
    for header in ["eps", "clean", *(name[len("robust_"):] for name in attacks), "worst case", "seconds"]:
        table.add_column(header, justify="right")
    for row in rows:
        cells = [f"{row['eps']:.5g}", f"{100 * row['clean_accuracy']:.1f}"]
        cells += [f"{100 * row[name]:.1f}" if row[name] is not None else "" for name in attacks]
        cells += [f"{100 * row['worst_case_accuracy']:.1f}", f"{row['seconds'] or 0:.1f}"]
        table.add_row(*cells)
    console.print(table)
    for name, check in result["checks"].items():
        console.print(f"{name}: {check['status']} ({check['detail']})", soft_wrap=True)
    console.print(f"results in {result['out']} (one folder per eps, {SWEEP})")


def failed_sweep_checks(result: dict[str, Any]) -> list[str]:
    """'eps-X: check' for every failed self-check of every budget."""
    return [f"eps {summary['eps']:.5g}: {name}" for summary in result["summaries"]
            for name, check in summary["checks"].items() if check["status"] == "fail"]

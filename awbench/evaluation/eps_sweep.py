"""Robustness curves: one checkpoint evaluated at several budgets on the same examples, in one command.

    awbench eval CKPT --eps 1/255,2/255,4/255,8/255,16/255 -a pgd

Budgets run from the smallest up. An adversarial example found within eps is within every larger eps, so an
example an attack broke at a smaller budget counts as broken by that attack at every larger one and is not
attacked again: larger budgets only attack the survivors (per attack; the worst case follows). Each budget
is an ordinary evaluation in its own folder `OUT/eps-<budget>/` (summary.json, per_sample.csv, resumable),
every summary carries an `eps_sweep` entry, and `OUT/sweep.json` holds the per-eps table and the sweep's
checks. A per-eps number can only be lower (never higher) than a separate evaluation at that eps.

Checks (flag, never hidden): accuracy must not rise with eps (`eps_monotone`); at Linf eps >= 0.5 an
unbounded-enough attack must break nearly everything (`large_eps_breaks_all`): robustness there means the
attack, not the model, failed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from awbench.checkpoint import atomic_write
from awbench.console import console
from awbench.errors import AwbenchError
from awbench.evaluation import checks as checks_module
from awbench.evaluation.api import default_out, evaluate_checkpoint
from awbench.evaluation.report import PER_SAMPLE_FILE, SUMMARY_FILE
from awbench.threat import parse_eps

SWEEP_FILE = "sweep.json"
UNBOUNDED_LINF_EPS = 0.5  # every pixel may move half-way: any image can be turned into mid-grey
NEAR_ZERO = 0.02  # accuracy at or below which "the unbounded attack succeeds"
RISE_TOLERANCE = 1e-9
REUSE_NOTE = ("an example broken by an attack at a smaller eps counts as broken by it here and was not "
              "attacked again; larger budgets attack only the survivors")


def is_eps_list(text: str | None) -> bool:
    """True when --eps names several budgets (a comma-separated list)."""
    return isinstance(text, str) and "," in text


def parse_eps_list(text: str) -> list[float]:
    """'1/255,2/255,8/255' -> [1/255, 2/255, 8/255] (sorted); a non-number, negative or repeated value raises."""
    items = [item.strip() for item in str(text).split(",")]
    if any(not item for item in items):
        raise AwbenchError(f"--eps '{text}' has an empty item; give budgets like 1/255,2/255,4/255")
    values = []
    for item in items:
        value = parse_eps(item)  # one-line errors for a non-number and for a value outside [0, 1]
        if any(abs(value - seen) < 1e-12 for seen in values):
            raise AwbenchError(f"--eps lists the budget {item} twice")
        values.append(value)
    return sorted(values)


def eps_folder_name(eps: float, norm: str) -> str:
    """eps-8_255 for an Linf budget of k/255, else eps-0.5 (a name safe on every file system)."""
    scaled = eps * 255
    if norm == "Linf" and eps > 0 and abs(scaled - round(scaled)) < 1e-6:
        return f"eps-{round(scaled)}_255"
    return f"eps-{eps:g}"


def monotone_check(points: list[tuple[float, float]], what: str = "accuracy") -> dict[str, str]:
    """Flag when `what` rises with eps anywhere in (eps, accuracy) `points`."""
    ordered = sorted(points)
    rises = [(a, b) for a, b in zip(ordered, ordered[1:], strict=False) if b[1] > a[1] + RISE_TOLERANCE]
    if rises:
        text = ", ".join(f"{low[1]:.4f} at eps {low[0]:.4g} -> {high[1]:.4f} at eps {high[0]:.4g}"
                         for low, high in rises)
        return checks_module.check("flag", f"{what} rises with eps: {text}; a weak or failing attack")
    shown = ", ".join(f"{value:.4f}" for _, value in ordered)
    return checks_module.check("pass", f"{what} does not rise with eps ({shown})")


def unbounded_check(eps: float, norm: str, worst: float) -> dict[str, str] | None:
    """At Linf eps >= 0.5 the worst case must be near 0; None below that budget or for L2."""
    if norm != "Linf" or eps < UNBOUNDED_LINF_EPS:
        return None
    detail = f"worst case {worst:.4f} at Linf eps {eps:g} (expected <= {NEAR_ZERO})"
    if worst <= NEAR_ZERO:
        return checks_module.check("pass", detail)
    return checks_module.check("flag", detail + ": the attack fails where no model can be robust; "
                                                "its numbers at smaller budgets overstate robustness")


def sweep_checks(table: pd.DataFrame, attacks: list[str]) -> dict[str, dict[str, str]]:
    """The sweep's checks from its per-eps table (columns eps, norm, worst_case_accuracy, robust_<attack>)."""
    points = list(zip(table["eps"], table["worst_case_accuracy"], strict=True))
    checks = {"eps_monotone": monotone_check(points, "worst-case accuracy")}
    for attack in attacks:
        column = f"robust_{attack}"
        if column in table and table[column].notna().all():
            result = monotone_check(list(zip(table["eps"], table[column], strict=True)), f"{attack} accuracy")
            if result["status"] != "pass":
                checks[f"eps_monotone:{attack}"] = result
    for eps, norm, worst in zip(table["eps"], table["norm"], table["worst_case_accuracy"], strict=True):
        result = unbounded_check(float(eps), str(norm), float(worst))
        if result is not None:
            checks["large_eps_breaks_all"] = result
    return checks


def _survivors(folder: Path) -> dict[str, torch.Tensor]:
    frame = pd.read_csv(folder / PER_SAMPLE_FILE)
    return {name[len("survived_"):]: torch.tensor(frame[name].to_numpy(dtype=bool))
            for name in frame.columns if name.startswith("survived_") and name != "survived_all"}


def _rewrite_summary(folder: Path, summary: dict[str, Any]) -> None:
    text = json.dumps(summary, indent=2)
    atomic_write(folder / SUMMARY_FILE, lambda handle: handle.write(text.encode()))


def evaluate_eps_sweep(checkpoint: str | Path, *, eps: str | list[float], out: str | Path | None = None,
                       **evaluate_options: Any) -> dict[str, Any]:
    """Evaluate `checkpoint` at every budget of `eps` (a list or '1/255,2/255,...') on the same examples.

    `evaluate_options` are those of `evaluate_checkpoint` (attacks, norm, n_examples, seed, ...). Returns
    {"out", "eps", "table" (one dict per eps), "checks", "summaries"}; writes OUT/sweep.json.
    """
    budgets = parse_eps_list(eps) if isinstance(eps, str) else sorted(parse_eps(value) for value in eps)
    if len(budgets) < 2:
        raise AwbenchError("an eps sweep needs at least two budgets, e.g. --eps 4/255,8/255")
    root = Path(out) if out is not None else default_out(Path(checkpoint))
    summaries, survivors = [], None
    for value in budgets:
        norm = evaluate_options.get("norm") or "Linf"
        folder = root / eps_folder_name(value, str(norm))
        summary = evaluate_checkpoint(checkpoint, eps=value, out=folder, attack_only=survivors, **evaluate_options)
        folder = Path(summary["out"])
        survivors = _survivors(folder)
        summaries.append(summary)
    attacks = list(summaries[-1]["attacks"])
    table = pd.DataFrame([{
        "eps": summary["eps"], "norm": summary["norm"], "clean_accuracy": summary["clean_accuracy"],
        **{f"robust_{name}": summary["robust_accuracy"].get(name) for name in attacks},
        "worst_case_accuracy": summary["worst_case_accuracy"],
        "seconds": summary["seconds"].get("total"),
    } for summary in summaries])
    checks = sweep_checks(table, attacks)
    for summary in summaries:
        summary["eps_sweep"] = {"eps": budgets, "reuse": REUSE_NOTE, "sweep_file": str(root / SWEEP_FILE)}
        summary["checks"]["eps_monotone"] = checks["eps_monotone"]
        if "large_eps_breaks_all" in checks and summary["eps"] >= UNBOUNDED_LINF_EPS:
            summary["checks"]["large_eps_breaks_all"] = checks["large_eps_breaks_all"]
        _rewrite_summary(Path(summary["out"]), summary)
    record = {"checkpoint": summaries[-1]["checkpoint"], "eps": budgets, "reuse": REUSE_NOTE,
              "table": table.to_dict(orient="records"), "checks": checks,
              "folders": [summary["out"] for summary in summaries]}
    text = json.dumps(record, indent=2)
    atomic_write(root / SWEEP_FILE, lambda handle: handle.write(text.encode()))
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
    console.print(f"results in {result['out']} (one folder per eps, {SWEEP_FILE})")


def failed_sweep_checks(result: dict[str, Any]) -> list[str]:
    """'eps-X: check' for every failed self-check of every budget."""
    return [f"eps {summary['eps']:.5g}: {name}" for summary in result["summaries"]
            for name, check in summary["checks"].items() if check["status"] == "fail"]

"""Compare training runs and evaluations: one table, Pareto fronts of clean vs robust accuracy, and plots.

    result = compare_runs("runs", metric="autoattack", weight=0.5)
    result.frame     # one row per evaluation (and per run without one)
    result.files     # comparison.csv/.md/.tex, pareto.png/.svg

Weighted Robust Accuracy is WRA_w = w * clean + (1 - w) * robust, with robust the chosen metric. The AW-Net
paper's exact weighting is not available, so w is ours to choose and always in the column name: `WRA_0.5`
(robust = worst case), `WRA_0.5_autoattack` (robust = another metric).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from rich.markup import escape

from awbench.compare.collect import ROBUST_PREFIX, collect_runs, robust_column
from awbench.compare.pareto import NOT_EVALUATED, failed_checks, group_labels, mark_pareto, pareto_front
from awbench.compare.plot import plot_pareto
from awbench.compare.reference import add_published, check_reference
from awbench.compare.report import parse_formats, print_table, read_comparison, write_tables
from awbench.console import console
from awbench.errors import AwbenchError, UnknownNameError

WORST_CASE = "worst"

__all__ = ["ComparisonResult", "compare_runs", "pareto_front", "print_comparison", "read_comparison"]


@dataclass
class ComparisonResult:
    """The comparison table, the files written, and what the reader should know about them."""

    frame: pd.DataFrame
    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    metric: str = WORST_CASE
    weight: float = 0.5


def wra_column(weight: float, metric_name: str = WORST_CASE) -> str:
    """Column name of the Weighted Robust Accuracy: 'WRA_0.5', or 'WRA_0.5_pgd' when robust is not the worst case."""
    return f"WRA_{weight:g}" if metric_name == WORST_CASE else f"WRA_{weight:g}_{metric_name}"


def metric_column(metric: str, frame: pd.DataFrame) -> str:
    """The column behind --metric: 'worst' -> worst_case_accuracy, an attack name -> its robust accuracy."""
    attacks = [name[len(ROBUST_PREFIX) :] for name in frame.columns if name.startswith(ROBUST_PREFIX)]
    wanted = metric.strip().lower()
    if wanted in (WORST_CASE, "worst_case", "worst-case"):
        return "worst_case_accuracy"
    for attack in attacks:
        if attack.lower() == wanted:
            return robust_column(attack)
    raise UnknownNameError("metric", metric, [WORST_CASE, *attacks])


def compare_runs(
    runs_dir: str | Path,
    *,
    metric: str = WORST_CASE,
    weight: float = 0.5,
    out: str | Path | None = None,
    formats: str | Iterable[str] = ("csv", "md", "tex"),
    plot: bool = True,
    reference: str | None = None,
) -> ComparisonResult:
    """Read every run and evaluation under `runs_dir`, flag the Pareto fronts, write tables and plots.

    `metric` is the robust accuracy the fronts and WRA use ('worst' or an attack name found in the data);
    `out` defaults to `runs_dir`. Raises AwbenchError for a missing or empty folder, an unknown metric or
    format, or a weight outside [0, 1]. `reference="robustbench"` adds the published leaderboard entries of
    the same dataset/norm/eps as rows marked "published" and grey points (awbench.compare.reference).
    """
    if not isinstance(weight, (int, float)) or math.isnan(weight) or not 0.0 <= weight <= 1.0:
        raise AwbenchError(f"--weight must lie in [0, 1] (WRA_w = w*clean + (1-w)*robust); got {weight}")
    table_formats = parse_formats(formats)
    reference = check_reference(reference)
    collection = collect_runs(runs_dir)
    frame = collection.frame
    robust = metric_column(metric, frame)
    metric_name = WORST_CASE if robust == "worst_case_accuracy" else robust[len(ROBUST_PREFIX) :]

    frame = _with_comparison_columns(frame, robust, wra_column(float(weight), metric_name), float(weight))
    notes = _notes(frame, robust, metric_name, float(weight))
    if reference:
        frame, note = add_published(frame, robust, wra_column(float(weight), metric_name), float(weight))
        notes.append(note)
    out_dir = Path(out) if out is not None else Path(runs_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise AwbenchError(f"--out {out_dir} is a file, not a folder")
    files = write_tables(frame, notes, out_dir, table_formats)
    if plot:
        plots = plot_pareto(frame, robust, _metric_label(metric_name), out_dir)
        if not plots:
            notes.append("no row has both a clean and a robust accuracy, so no Pareto plot was drawn.")
        files += plots
    return ComparisonResult(
        frame=frame, files=files, warnings=collection.warnings, notes=notes, metric=metric_name, weight=weight
    )


def _with_comparison_columns(frame: pd.DataFrame, robust: str, wra: str, weight: float) -> pd.DataFrame:
    """Add WRA_w, group and pareto; sort by group, then the chosen robust accuracy (best first)."""
    frame = frame.copy()
    frame[wra] = weight * frame["clean_accuracy"] + (1 - weight) * frame[robust]
    frame["group"] = group_labels(frame, evaluated=frame["evaluation"].notna())
    frame["pareto"] = mark_pareto(frame, robust, frame["group"], eligible=~failed_checks(frame))
    frame["_unevaluated"] = frame["group"] == NOT_EVALUATED
    frame = frame.sort_values(
        ["_unevaluated", "group", robust, "clean_accuracy", "run"],
        ascending=[True, True, False, False, True],
        na_position="last",
        kind="stable",
    ).drop(columns="_unevaluated")
    # WRA, then the group and the flag, come right after the accuracies they summarise.
    leading = [name for name in frame.columns if name not in (wra, "pareto", "group", "aw_net", "checks", "evaluation")]
    ordered = [*leading, wra, "pareto", "group", "aw_net", "checks", "evaluation"]
    return frame[ordered].reset_index(drop=True)


def _metric_label(metric_name: str) -> str:
    return "worst case over attacks" if metric_name == WORST_CASE else metric_name


def _notes(frame: pd.DataFrame, robust: str, metric_name: str, weight: float) -> list[str]:
    formula = f"{wra_column(weight, metric_name)} = {weight:g}*clean + {1 - weight:g}*robust"
    notes = [f"Accuracies in %. Pareto front and {formula} use robust = {_metric_label(metric_name)}."]
    groups = [group for group in dict.fromkeys(frame["group"]) if group != NOT_EVALUATED]
    if len(groups) > 1:
        notes.append(
            f"Rows fall into {len(groups)} groups evaluated under different conditions (dataset, norm, eps, "
            f"n_examples); each group has its own Pareto front and they are never compared: {'; '.join(groups)}."
        )
    evaluated = frame["group"] != NOT_EVALUATED
    unscored = frame[evaluated & (frame["clean_accuracy"].isna() | frame[robust].isna())]
    if not unscored.empty:
        names = ", ".join(f"{run} ({evaluation})" for run, evaluation in zip(unscored["run"], unscored["evaluation"]))
        notes.append(f"Left off the fronts for lack of a clean or {metric_name} accuracy: {names}.")
    failed = frame[failed_checks(frame)]
    if not failed.empty:
        names = ", ".join(f"{run} ({evaluation})" for run, evaluation in zip(failed["run"], failed["evaluation"]))
        notes.append(f"Left off the fronts because a self-check failed (see the checks column): {names}.")
    unevaluated = frame.loc[~evaluated, "run"].tolist()
    if unevaluated:
        notes.append(f"Runs without an evaluation (empty accuracy columns): {', '.join(unevaluated)}.")
    return notes


def print_comparison(result: ComparisonResult) -> None:
    """Print the table, its notes and where the files went, on the rich console (stderr)."""
    print_table(result.frame, title=f"Accuracy-robustness comparison ({len(result.frame)} rows)")
    for note in result.notes:
        console.print(f"[dim]{escape(note)}[/]")
    if result.warnings:
        console.print(f"[yellow]{len(result.warnings)} warning(s)[/] while reading; see above.")
    for path in result.files:
        console.print(f"wrote {escape(str(path))}", soft_wrap=True)

"""Compare training runs and evaluations: one table, Pareto fronts of clean vs robust accuracy, and plots.

    result = compare_runs("runs", metric="autoattack", weight=0.5)
    result.frame     # one row per evaluation (and per run without one)
    result.files     # comparison.csv/.md/.tex, pareto.png/.svg, pairwise.csv/.md, robustness_vs_eps.png/.svg
    result.pairs     # paired tests between evaluations on the same examples (awbench.compare.paired)

Weighted Robust Accuracy is WRA_w = w * clean + (1 - w) * robust, with robust the chosen metric. The AW-Net
paper's exact weighting is not available, so w is ours to choose and always in the column name: `WRA_0.5`
(robust = worst case), `WRA_0.5_autoattack` (robust = another metric).

Every accuracy gets its Wilson 95% interval (`<column>_ci_low`, `<column>_ci_high`); evaluations on the same
examples are paired (McNemar, paired bootstrap of the WRA difference) and each row off a front says whether
its dominance is significant (`dominance`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from rich.markup import escape

from awbench.compare.collect import CURVE_COLUMNS, DATA_COLUMN, ROBUST_PREFIX, collect_runs, robust_column
from awbench.compare.curves import eps_curve_notes, plot_robustness_vs_eps
from awbench.compare.paired import dominance_column, pairs_against, pairwise_table
from awbench.compare.pareto import NOT_EVALUATED, data_notes, failed_checks, group_labels, mark_pareto, pareto_front
from awbench.compare.plot import plot_pareto
from awbench.compare.reference import add_published, check_reference
from awbench.compare.report import (
    parse_formats,
    print_pairs,
    print_table,
    read_comparison,
    with_intervals,
    write_pairwise,
    write_tables,
)
from awbench.console import console
from awbench.errors import AwbenchError, UnknownNameError

WORST_CASE = "worst"
MAX_PRINTED_PAIRS = 12

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
    pairs: pd.DataFrame | None = None
    against: str | None = None


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
    against: str | None = None,
) -> ComparisonResult:
    """Read every run and evaluation under `runs_dir`, flag the Pareto fronts, test pairs, write tables and plots.

    `metric` is the robust accuracy the fronts and WRA use ('worst' or an attack name found in the data);
    `out` defaults to `runs_dir`; `against` (a run name or evaluation folder) limits the pairwise table to the
    pairs with that evaluation; `reference="robustbench"` adds the published leaderboard entries of the same
    dataset/norm/eps as rows marked "published" and grey points (awbench.compare.reference). Raises
    AwbenchError for a missing or empty folder, an unknown metric, format, reference or --against run, or a
    weight outside [0, 1].
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
    against_rows = _against_rows(frame, against) if against is not None else None
    pairs, pair_notes = pairwise_table(frame, Path(runs_dir), robust, float(weight))
    frame.insert(frame.columns.get_loc("pareto") + 1, "dominance", dominance_column(frame, robust, pairs))
    if against_rows is not None:
        pairs = pairs_against(pairs, frame.loc[against_rows, "evaluation"].tolist())
        if pairs.empty:
            pair_notes.append(f"--against {against}: no other evaluation was made on the same examples, threat "
                              "model and attack set, so nothing is paired with it.")
    frame = with_intervals(frame)
    notes = _notes(frame, robust, metric_name, float(weight)) + pair_notes + eps_curve_notes(frame, robust)
    if reference:
        frame, note = add_published(frame, robust, wra_column(float(weight), metric_name), float(weight))
        notes.append(note)
    out_dir = Path(out) if out is not None else Path(runs_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise AwbenchError(f"--out {out_dir} is a file, not a folder")
    files = write_tables(frame, notes, out_dir, table_formats)
    if not pairs.empty or against_rows is not None:
        files += write_pairwise(pairs, out_dir, table_formats, metric_name, float(weight))
    if plot:
        plots = plot_pareto(frame, robust, _metric_label(metric_name), out_dir)
        if not plots:
            notes.append("no row has both a clean and a robust accuracy, so no Pareto plot was drawn.")
        files += plots
        files += plot_robustness_vs_eps(frame, robust, _metric_label(metric_name), out_dir)
    return ComparisonResult(
        frame=frame, files=files, warnings=collection.warnings, notes=notes, metric=metric_name, weight=weight,
        pairs=pairs, against=against,
    )


def _against_rows(frame: pd.DataFrame, against: str) -> list[int]:
    """Positions of the evaluated rows named by --against (a run name or an evaluation folder)."""
    wanted = against.strip().rstrip("/")
    evaluated = frame["evaluation"].notna()
    rows = frame.index[evaluated & ((frame["run"] == wanted) | (frame["evaluation"] == wanted))].tolist()
    if not rows:
        raise UnknownNameError("--against run", against, sorted(set(frame.loc[evaluated, "run"].dropna())))
    return rows


def _with_comparison_columns(frame: pd.DataFrame, robust: str, wra: str, weight: float) -> pd.DataFrame:
    """Add WRA_w, group and pareto; sort by group, then the chosen robust accuracy (best first)."""
    frame = frame.copy()
    frame[wra] = weight * frame["clean_accuracy"] + (1 - weight) * frame[robust]
    frame["group"] = group_labels(frame, evaluated=frame["evaluation"].notna())
    frame["pareto"] = mark_pareto(frame, robust, frame["group"], eligible=~failed_checks(frame))
    frame["_unevaluated"] = frame["group"] == NOT_EVALUATED
    frame = frame.sort_values(  # groups in the order of their budgets (2/255 before 16/255), best rows first
        ["_unevaluated", "dataset", "norm", "eps", "group", robust, "clean_accuracy", "run"],
        ascending=[True, True, True, True, True, False, False, True],
        na_position="last",
        kind="stable",
    ).drop(columns="_unevaluated")
    # WRA, then the group and the flag, come right after the accuracies they summarise.
    trailing = ("pareto", "group", "aw_net", "checks", "evaluation", "attack_set", DATA_COLUMN, *CURVE_COLUMNS,
                "curve_value")
    leading = [name for name in frame.columns if name not in (wra, *trailing)]
    ordered = [*leading, wra, *trailing]
    return frame[ordered].reset_index(drop=True)


def _metric_label(metric_name: str) -> str:
    return "worst case over attacks" if metric_name == WORST_CASE else metric_name


def _notes(frame: pd.DataFrame, robust: str, metric_name: str, weight: float) -> list[str]:
    formula = f"{wra_column(weight, metric_name)} = {weight:g}*clean + {1 - weight:g}*robust"
    notes = [f"Accuracies in % (the written tables give each its Wilson 95% interval, [lo, hi]). Pareto front and "
             f"{formula} use robust = {_metric_label(metric_name)}."]
    groups = [group for group in dict.fromkeys(frame["group"]) if group != NOT_EVALUATED]
    if len(groups) > 1:
        notes.append(
            f"Rows fall into {len(groups)} groups evaluated under different conditions (dataset, norm, eps, attacks, "
            f"n_examples); each group has its own Pareto front and they are never compared: {'; '.join(groups)}."
        )
    evaluated = frame["group"] != NOT_EVALUATED
    notes += data_notes(frame, evaluated)
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
    if result.pairs is not None and (result.against is not None or 0 < len(result.pairs) <= MAX_PRINTED_PAIRS):
        print_pairs(result.pairs, result.against)
    elif result.pairs is not None and len(result.pairs):
        console.print(f"[dim]{len(result.pairs)} paired tests: see pairwise.md (or --against RUN)[/]")
    for note in result.notes:
        console.print(f"[dim]{escape(note)}[/]")
    if result.warnings:
        console.print(f"[yellow]{len(result.warnings)} warning(s)[/] while reading; see above.")
    for path in result.files:
        console.print(f"wrote {escape(str(path))}", soft_wrap=True)

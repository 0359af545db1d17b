"""robustness_vs_eps.png / .svg: robust accuracy against the budget, one line per model, one panel per norm.

A line is every evaluation of one model (same run, dataset, norm, examples and attack set) at two or more
budgets: an eps sweep (`awbench eval --eps 1/255,2/255,...`) or separate evaluations. It starts at eps = 0
with the clean accuracy; every point has its Wilson 95% interval. Two sanity checks become notes: robust
accuracy must not rise with eps, and at Linf eps >= 0.5 it must be near 0. Each line has its own colour;
the marker is the training method, as in the Pareto plot.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from awbench.compare.pareto import format_eps
from awbench.compare.plot import DPI, LEGEND_WIDTH_INCHES, PANEL_SIZE_INCHES, add_legend, error_bars, save_figure
from awbench.compare.style import COLOURS, Palette
from awbench.evaluation.checks import accuracy_nonincreasing_in_eps
from awbench.evaluation.eps_sweep import unbounded_check

PLOT_STEM = "robustness_vs_eps"
LINE_KEYS = ("run", "model", "method", "dataset", "data", "norm", "n_examples", "attack_set", "curve_kind",
             "curve_label", "curve_value")


def eps_lines(frame: pd.DataFrame, robust_column: str) -> list[pd.DataFrame]:
    """The rows of each model evaluated at two or more budgets, sorted by eps (one row per eps)."""
    scored = frame.dropna(subset=["eps", "clean_accuracy", robust_column])
    if scored.empty:
        return []
    keys = [key for key in LINE_KEYS if key in scored.columns]
    lines = []
    for _, members in scored.groupby(keys, dropna=False, sort=True):
        members = members.sort_values(["eps", "evaluation"]).drop_duplicates("eps")
        if len(members) >= 2:
            lines.append(members)
    return lines


def _name(line: pd.DataFrame) -> str:
    return str(line.iloc[0]["run"])


def eps_curve_notes(frame: pd.DataFrame, robust_column: str) -> list[str]:
    """Flags of the eps lines: robust accuracy rising with eps, or far from 0 at Linf eps >= 0.5."""
    notes = []
    for line in eps_lines(frame, robust_column):
        name = _name(line)
        accuracies = {float(eps): float(value) for eps, value in zip(line["eps"], line[robust_column], strict=True)}
        rising = accuracy_nonincreasing_in_eps(accuracies)
        if rising["status"] != "pass":
            notes.append(f"{name}: robust {rising['detail']} (flag).")
        counts = line["n_examples"] if "n_examples" in line else [None] * len(line)
        for eps, norm, value, count in zip(line["eps"], line["norm"], line[robust_column], counts, strict=True):
            count = int(count) if count is not None and pd.notna(count) else None
            unbounded = unbounded_check(float(eps), str(norm), float(value), count)
            if unbounded is not None and unbounded["status"] != "pass":
                notes.append(f"{name}: {unbounded['detail']} (flag).")
    return notes


def plot_robustness_vs_eps(frame: pd.DataFrame, robust_column: str, metric_label: str, out_dir: Path) -> list[Path]:
    """Write robustness_vs_eps.png/.svg when some model was evaluated at two or more budgets; the paths."""
    lines = eps_lines(frame, robust_column)
    if not lines:
        return []
    panels = list(dict.fromkeys((line["dataset"].iloc[0], line["norm"].iloc[0]) for line in lines))
    figure = Figure(figsize=(PANEL_SIZE_INCHES[0] * len(panels) + LEGEND_WIDTH_INCHES, PANEL_SIZE_INCHES[1]),
                    dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(panels), squeeze=False).ravel()
    palette = Palette(pd.concat(lines))
    # Here each line is one model, so each gets its own colour (several runs of one family would look alike);
    # the marker is still the method, as in the Pareto plot.
    colours = {_name(line): COLOURS[i % len(COLOURS)] for i, line in enumerate(lines)}
    for ax, (dataset, norm) in zip(axes, panels, strict=True):
        highest = 0.0
        for line in (line for line in lines if (line["dataset"].iloc[0], line["norm"].iloc[0]) == (dataset, norm)):
            first = line.iloc[0]
            eps = np.concatenate([[0.0], line["eps"].to_numpy(float)])
            accuracy = 100 * np.concatenate([[first["clean_accuracy"]], line[robust_column].to_numpy(float)])
            bars = np.hstack([error_bars(line.iloc[:1], "clean_accuracy"), error_bars(line, robust_column)])
            scale = 255 if norm == "Linf" else 1
            highest = max(highest, float(np.nanmax(accuracy + bars[1])))
            ax.errorbar(eps * scale, accuracy, yerr=bars, color=colours[_name(line)],
                        marker=palette.marker(first["method"]), markersize=6, linewidth=1.4, capsize=2,
                        label=_name(line))
        if norm == "Linf":
            ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: format_eps(value / 255, "Linf")
                                                       if value > 0 else "0"))
            ax.set_xlabel("Linf eps (x/255)")
        else:
            ax.set_xlabel(f"{norm} eps")
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=100))
        ax.set_ylim(-2, min(102.0, highest + 5))
        ax.set_ylabel(f"robust accuracy (%), {metric_label}; eps 0: clean")
        ax.set_title(f"{dataset} {norm}: accuracy vs budget (Wilson 95% bars)", fontsize=10)
        ax.grid(True, alpha=0.3)
    handles, labels = [], []
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    add_legend(figure, handles, labels)
    return save_figure(figure, out_dir, PLOT_STEM)

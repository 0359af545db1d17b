"""pareto.png and pareto.svg: clean accuracy against robust accuracy, one panel per evaluation group.

Every point carries its Wilson 95% intervals as error bars; colour is the model family, marker the training
method (legend outside the panels, so 10+ runs stay readable). Rows that share a "curve" (an interpolation,
an AW-Net signal sweep) are one labelled line sorted by the swept value; single evaluations are points.
The front of each group is the dashed staircase, its members ringed; a dotted ring marks a row the front
dominates only without significance (paired McNemar tests, `dominance`).

Drawn on a matplotlib Figure rendered by the Agg canvas, without pyplot, so nothing changes the caller's
matplotlib backend and no figure is left open.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import PercentFormatter

from awbench.compare.paired import NOT_SIGNIFICANT
from awbench.compare.pareto import failed_checks
from awbench.compare.reference import draw_published, is_published
from awbench.compare.report import CI_HIGH, CI_LOW
from awbench.compare.style import FAILED_COLOUR, RING_SIZE, Palette, family, method_of
from awbench.files import atomic_write

PLOT_STEM = "pareto"
DPI = 100
PANEL_SIZE_INCHES = (6.4, 4.8)  # one group's panel
LEGEND_WIDTH_INCHES = 3.0  # the legend column right of the panels
LEGEND_WRAP = 40  # characters per legend line: long run or curve names wrap rather than squeeze the panels
MAX_PANELS_PER_ROW = 3
MIN_SPAN_PERCENT = 10.0
MAX_RUN_LABELS = 12  # beyond this many single points in a panel, the legend and the table name them


def panel_grid(n_groups: int) -> tuple[int, int]:
    """(rows, columns) of panels for `n_groups` groups."""
    columns = min(max(n_groups, 1), MAX_PANELS_PER_ROW)
    return math.ceil(max(n_groups, 1) / columns), columns


def figure_size(n_groups: int) -> tuple[float, float]:
    """Figure size in inches (panels plus the legend column); the PNG is this times DPI pixels, the SVG
    this times 72 points."""
    rows, columns = panel_grid(n_groups)
    return PANEL_SIZE_INCHES[0] * columns + LEGEND_WIDTH_INCHES, PANEL_SIZE_INCHES[1] * rows


def save_figure(figure: Figure, out_dir: Path, stem: str) -> list[Path]:
    """Write `stem`.png and `stem`.svg (without a date, so an unchanged figure gives an identical SVG)."""
    out_dir = Path(out_dir)
    png, svg = out_dir / f"{stem}.png", out_dir / f"{stem}.svg"
    atomic_write(png, lambda handle: figure.savefig(handle, format="png", dpi=DPI))
    atomic_write(svg, lambda handle: figure.savefig(handle, format="svg", metadata={"Date": None}))
    return [png, svg]


def add_legend(figure: Figure, handles: list[Any], labels: list[str] | None = None) -> None:
    """One legend for the whole figure, right of the panels, long labels wrapped to fit its column."""
    labels = labels if labels is not None else [handle.get_label() for handle in handles]
    wrapped = [textwrap.fill(label, LEGEND_WRAP, subsequent_indent="  ") for label in labels]
    figure.legend(handles, wrapped, loc="outside right upper", fontsize=8, frameon=False)


def error_bars(rows: pd.DataFrame, column: str) -> np.ndarray:
    """[[below], [above]] in % from the row's Wilson interval columns (0 where there is none)."""
    values = 100 * rows[column].to_numpy(dtype=float)
    if column + CI_LOW not in rows.columns:
        return np.zeros((2, len(rows)))
    low = 100 * rows[column + CI_LOW].to_numpy(dtype=float)
    high = 100 * rows[column + CI_HIGH].to_numpy(dtype=float)
    return np.nan_to_num(np.vstack([values - low, high - values]), nan=0.0).clip(min=0)


def plot_pareto(frame: pd.DataFrame, robust_column: str, metric_label: str, out_dir: Path) -> list[Path]:
    """Write pareto.png and pareto.svg into `out_dir`; the paths written ([] if no row has both scores).

    `frame` needs the columns run, model, method, clean_accuracy, `robust_column`, pareto and group; it uses
    the interval columns, dominance and the curve columns when present.
    """
    scored = frame.dropna(subset=["clean_accuracy", robust_column])
    if scored.empty:
        return []
    groups = list(dict.fromkeys(scored["group"]))
    rows, columns = panel_grid(len(groups))
    figure = Figure(figsize=figure_size(len(groups)), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    published = is_published(scored)  # reference rows (compare --reference): grey, never on a front
    own = scored[~published]
    palette = Palette(own)
    extra: dict[str, Any] = {}
    for ax, group in zip(axes, groups, strict=False):
        extra |= _draw_group(ax, own[own["group"] == group], robust_column, metric_label, group, palette)
        extra |= draw_published(ax, frame[is_published(frame) & (frame["group"] == group)])
    for ax in axes[len(groups) :]:
        ax.set_axis_off()
    if len(groups) > 1:
        figure.suptitle(f"{len(groups)} groups evaluated under different conditions: one front per group")
    handles = palette.legend_handles(map(family, own["model"]), map(method_of, own["method"]))
    add_legend(figure, [*handles, *extra.values()])
    return save_figure(figure, out_dir, PLOT_STEM)


def _curves(rows: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    if "curve_kind" not in rows.columns:
        return []
    swept = rows[rows["curve_kind"].notna()]
    return [(f"{label} ({kind})", members.sort_values("curve_value"))
            for (kind, label), members in swept.groupby(["curve_kind", "curve_label"], sort=True)]


def _draw_group(ax: Axes, rows: pd.DataFrame, robust_column: str, metric_label: str, group: str,
                palette: Palette) -> dict[str, Any]:
    """Draw one panel; returns the legend entries it needs beyond the colours and markers."""
    legend: dict[str, Any] = {}
    robust, clean = 100 * rows[robust_column].to_numpy(dtype=float), 100 * rows["clean_accuracy"].to_numpy(float)
    x_limits = _limits(pd.Series(robust), extra_right=0.25)  # room for the labels right of the markers
    y_limits = _limits(pd.Series(clean))
    failed = failed_checks(rows).to_numpy(dtype=bool)
    on_front = rows["pareto"].to_numpy(dtype=bool)
    front = pd.DataFrame({"robust": robust[on_front], "clean": clean[on_front]}).sort_values(
        ["robust", "clean"], ascending=[True, False])
    if not front.empty:
        # The boundary of the region the front dominates (both scores maximised): from the left edge at the
        # best clean accuracy, down then right through every member, down to the bottom edge at the best
        # robust accuracy. The edges make even a one-member front visible.
        ax.plot([x_limits[0], *front["robust"], front["robust"].iloc[-1]],
                [front["clean"].iloc[0], *front["clean"], y_limits[0]],
                drawstyle="steps-pre", color="0.35", linestyle="--", linewidth=1.2, zorder=2)
        ax.scatter(front["robust"], front["clean"], s=RING_SIZE, facecolors="none", edgecolors="0.35", zorder=2)
        legend["front"] = Line2D([], [], color="0.35", linestyle="--", marker="o", markersize=14,
                                 markerfacecolor="none", label="Pareto front (ringed)")
    if "dominance" in rows.columns:
        weak = (rows["dominance"] == NOT_SIGNIFICANT).to_numpy(dtype=bool)
        if weak.any():
            rings = ax.scatter(robust[weak], clean[weak], s=RING_SIZE, facecolors="none", edgecolors="0.35",
                               linestyles=":", linewidths=1.2, zorder=2)
            rings.set_label("dominated, not significantly (dotted ring)")
            legend["weak"] = rings
    x_error, y_error = error_bars(rows, robust_column), error_bars(rows, "clean_accuracy")
    ax.errorbar(robust, clean, xerr=x_error, yerr=y_error, fmt="none", ecolor="0.6", elinewidth=0.8, capsize=2,
                zorder=1)
    legend["bars"] = Line2D([], [], color="0.6", linewidth=0.8, label="Wilson 95% interval")
    for position, (_, row) in enumerate(rows.iterrows()):
        if failed[position]:
            ax.scatter(robust[position], clean[position], marker="x", color=FAILED_COLOUR, s=55, zorder=3)
            legend["failed"] = Line2D([], [], linestyle="none", marker="x", color=FAILED_COLOUR,
                                      label="self-check failed (not comparable)")
            continue
        ax.scatter(robust[position], clean[position], marker=palette.marker(row["method"]),
                   color=palette.colour(row["model"]), s=palette.marker_size(row["method"]), zorder=3,
                   edgecolors="white", linewidths=0.5)
    for name, members in _curves(rows):
        x, y = 100 * members[robust_column].to_numpy(float), 100 * members["clean_accuracy"].to_numpy(float)
        colour = palette.colour(members["model"].iloc[0])
        ax.plot(x, y, color=colour, linewidth=1.3, alpha=0.8, zorder=2)
        for value, xi, yi in zip(members["curve_value"], x, y, strict=True):
            ax.annotate(f"{value:g}", (xi, yi), xytext=(-12, 6), textcoords="offset points", fontsize=7,
                        color=colour)
        legend[f"curve {name}"] = Line2D([], [], color=colour, linewidth=1.3,
                                         label=f"curve: {name}, swept value at each point")
    singles = rows["curve_kind"].isna().to_numpy(dtype=bool) if "curve_kind" in rows.columns else np.ones(len(rows),
                                                                                                           bool)
    if singles.sum() <= MAX_RUN_LABELS:
        _label_points(ax, rows[singles], robust[singles], clean[singles], x_limits, y_limits)
    ax.set_xlim(*x_limits)
    ax.set_ylim(*y_limits)
    ax.xaxis.set_major_formatter(PercentFormatter(xmax=100))
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=100))
    ax.set_xlabel(f"robust accuracy (%), {metric_label}")
    ax.set_ylabel("clean accuracy (%)")
    ax.set_title(f"{group}: {int(on_front.sum())} of {len(rows)} on the front", fontsize=10)
    ax.grid(True, alpha=0.3)
    return legend


def _label_points(ax: Axes, rows: pd.DataFrame, robust: np.ndarray, clean: np.ndarray,
                  x_limits: tuple[float, float], y_limits: tuple[float, float]) -> None:
    placed: list[tuple[float, float]] = []
    near_x, near_y = 0.25 * (x_limits[1] - x_limits[0]), 0.04 * (y_limits[1] - y_limits[0])
    order = sorted(range(len(rows)), key=lambda i: (-clean[i], -robust[i]))
    for i in order:
        # Labels of neighbouring points would overprint: step each further one down a line.
        crowd = sum(abs(robust[i] - x) < near_x and abs(clean[i] - y) < near_y for x, y in placed)
        placed.append((robust[i], clean[i]))
        ax.annotate(str(rows["run"].iloc[i]), (robust[i], clean[i]), xytext=(6, 5 - 11 * crowd),
                    textcoords="offset points", fontsize=8)


def _limits(values: pd.Series, extra_right: float = 0.0) -> tuple[float, float]:
    """Axis limits in %: at least MIN_SPAN_PERCENT wide (one point still gets a readable scale), padded."""
    low, high = float(values.min()), float(values.max())
    if high - low < MIN_SPAN_PERCENT:
        middle = (low + high) / 2
        low, high = middle - MIN_SPAN_PERCENT / 2, middle + MIN_SPAN_PERCENT / 2
    span = high - low
    return max(low - 0.12 * span, -2.0), min(high + (0.12 + extra_right) * span, 102.0)

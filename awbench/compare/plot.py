"""pareto.png and pareto.svg: clean accuracy against robust accuracy, one panel per evaluation group.

Drawn with pandas' plotting on a matplotlib Figure rendered by the Agg canvas, without pyplot, so nothing
changes the caller's matplotlib backend and no figure is left open.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from awbench.checkpoint import atomic_write
from awbench.compare.pareto import failed_checks
from awbench.compare.reference import draw_published, is_published

PLOT_STEM = "pareto"
DPI = 100
PANEL_SIZE_INCHES = (6.4, 4.8)  # one group's panel; a 640 x 480 pixel PNG for one group
MAX_PANELS_PER_ROW = 3
MIN_SPAN_PERCENT = 10.0
STATIC_STYLE = {"marker": "o", "color": "tab:blue", "s": 45, "label": "static"}
AW_NET_STYLE = {"marker": "*", "color": "tab:red", "s": 160, "label": "AW-Net"}
FAILED_STYLE = {"marker": "x", "color": "0.5", "s": 45, "label": "self-check failed (not comparable)"}


def panel_grid(n_groups: int) -> tuple[int, int]:
    """(rows, columns) of panels for `n_groups` groups."""
    columns = min(max(n_groups, 1), MAX_PANELS_PER_ROW)
    return math.ceil(max(n_groups, 1) / columns), columns


def figure_size(n_groups: int) -> tuple[float, float]:
    """Figure size in inches; the PNG is this times DPI pixels, the SVG this times 72 points."""
    rows, columns = panel_grid(n_groups)
    return PANEL_SIZE_INCHES[0] * columns, PANEL_SIZE_INCHES[1] * rows


def plot_pareto(frame: pd.DataFrame, robust_column: str, metric_label: str, out_dir: Path) -> list[Path]:
    """Write pareto.png and pareto.svg into `out_dir`; the paths written ([] if no row has both scores).

    `frame` needs the columns run, clean_accuracy, `robust_column`, aw_net, pareto and group.
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
    for ax, group in zip(axes, groups, strict=False):
        _draw_group(ax, scored[(scored["group"] == group) & ~published], robust_column, metric_label, group)
        draw_published(ax, frame[is_published(frame) & (frame["group"] == group)])
    for ax in axes[len(groups) :]:
        ax.set_axis_off()
    if len(groups) > 1:
        figure.suptitle(f"{len(groups)} groups evaluated under different conditions: one front per group")
    out_dir = Path(out_dir)
    png, svg = out_dir / f"{PLOT_STEM}.png", out_dir / f"{PLOT_STEM}.svg"
    atomic_write(png, lambda handle: figure.savefig(handle, format="png", dpi=DPI))
    # No date in the SVG, so that an unchanged comparison writes an identical file.
    atomic_write(svg, lambda handle: figure.savefig(handle, format="svg", metadata={"Date": None}))
    return [png, svg]


def _draw_group(ax: Axes, rows: pd.DataFrame, robust_column: str, metric_label: str, group: str) -> None:
    points = pd.DataFrame(
        {
            "robust": 100 * rows[robust_column].to_numpy(dtype=float),
            "clean": 100 * rows["clean_accuracy"].to_numpy(dtype=float),
            "run": rows["run"].to_numpy(),
            "aw_net": rows["aw_net"].to_numpy(dtype=bool),
            "pareto": rows["pareto"].to_numpy(dtype=bool),
            "failed": failed_checks(rows).to_numpy(dtype=bool),
        }
    )
    x_limits = _limits(points["robust"], extra_right=0.35)  # room for the labels right of the markers
    y_limits = _limits(points["clean"])
    front = points[points["pareto"]].sort_values(["robust", "clean"], ascending=[True, False])
    if not front.empty:
        # The boundary of the region the front dominates (both scores maximised): from the left edge at the
        # best clean accuracy, down then right through every member, down to the bottom edge at the best
        # robust accuracy. The edges make even a one-member front visible.
        staircase = pd.DataFrame(
            {
                "robust": [x_limits[0], *front["robust"], front["robust"].iloc[-1]],
                "clean": [front["clean"].iloc[0], *front["clean"], y_limits[0]],
            }
        )
        staircase.plot(
            x="robust",
            y="clean",
            ax=ax,
            drawstyle="steps-pre",
            color="0.35",
            linestyle="--",
            linewidth=1.2,
            label="Pareto front",
            zorder=2,
        )
        # A ring around each front member; pandas passes `color` on as matplotlib's `c`.
        front.plot.scatter(x="robust", y="clean", ax=ax, s=260, color="none", edgecolors="0.35", zorder=2)
    for is_aw_net, style in ((False, STATIC_STYLE), (True, AW_NET_STYLE)):
        subset = points[(points["aw_net"] == is_aw_net) & ~points["failed"]]
        if not subset.empty:
            subset.plot.scatter(x="robust", y="clean", ax=ax, zorder=3, **style)
    if points["failed"].any():
        points[points["failed"]].plot.scatter(x="robust", y="clean", ax=ax, zorder=3, **FAILED_STYLE)
    placed: list[tuple[float, float]] = []
    near_x, near_y = 0.25 * (x_limits[1] - x_limits[0]), 0.04 * (y_limits[1] - y_limits[0])
    for _, point in points.sort_values(["clean", "robust"], ascending=False).iterrows():
        # Labels of neighbouring points would overprint: step each further one down a line.
        crowd = sum(abs(point["robust"] - x) < near_x and abs(point["clean"] - y) < near_y for x, y in placed)
        placed.append((point["robust"], point["clean"]))
        ax.annotate(
            str(point["run"]),
            (point["robust"], point["clean"]),
            xytext=(6, 5 - 11 * crowd),
            textcoords="offset points",
            fontsize=8,
        )
    ax.set_xlim(*x_limits)
    ax.set_ylim(*y_limits)
    ax.xaxis.set_major_formatter(PercentFormatter(xmax=100))
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=100))
    ax.set_xlabel(f"robust accuracy (%), {metric_label}")
    ax.set_ylabel("clean accuracy (%)")
    ax.set_title(f"{group}: {len(front)} of {len(points)} on the front", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize=8)


def _limits(values: pd.Series, extra_right: float = 0.0) -> tuple[float, float]:
    """Axis limits in %: at least MIN_SPAN_PERCENT wide (one point still gets a readable scale), padded."""
    low, high = float(values.min()), float(values.max())
    if high - low < MIN_SPAN_PERCENT:
        middle = (low + high) / 2
        low, high = middle - MIN_SPAN_PERCENT / 2, middle + MIN_SPAN_PERCENT / 2
    span = high - low
    return max(low - 0.12 * span, -2.0), min(high + (0.12 + extra_right) * span, 102.0)

"""Published numbers beside the user's runs: `awbench compare RUNS --reference robustbench`.

For every group of evaluated rows (dataset, norm, eps), the leaderboard entries of the same dataset, threat
model and budget join the table as rows whose method says "published" (", extra data" when trained with
additional data, ", unreliable" when RobustBench marks the AutoAttack number as potentially unreliable), and
the plot draws them as grey points. They never join a Pareto front: their numbers are AutoAttack on the full
test set, measured elsewhere, not this comparison's examples and attacks. Where RobustBench also lists an
`external` number (the best accuracy known under stronger attacks), the row keeps AutoAttack's number in
`robust_autoattack`, shows the external one in `external_accuracy`, and its worst case (drawn in the plot) is the
lower of the two: a published point never looks more robust than the best known attack left it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from awbench.compare.pareto import NOT_EVALUATED, pareto_front
from awbench.errors import UnknownNameError

REFERENCES = ("robustbench",)
PUBLISHED = "published"
AUTOATTACK = "robust_autoattack"
EXTERNAL = "external_accuracy"  # RobustBench's `external`: accuracy under the strongest attack known to it
MAX_LABELS = 5
EPS_TOLERANCE = 5e-4  # RobustBench writes some 8/255 budgets as 0.031
FULL_TEST_SET = {"cifar10": 10_000, "cifar100": 10_000, "imagenet": 5_000}
_STYLES = {  # (marker, label); all grey, so the user's runs stay the colourful points
    "published": ("o", "published (RobustBench: AutoAttack, or a stronger attack's lower number)"),
    "published, extra data": ("^", "published, extra training data"),
    "published, unreliable": ("x", "published, AutoAttack marked unreliable"),
}


def check_reference(name: str | None) -> str | None:
    """The reference's canonical name, or None; an unknown one raises, listing the known ones."""
    if name is None:
        return None
    if name.strip().lower() not in REFERENCES:
        raise UnknownNameError("reference", name, REFERENCES)
    return name.strip().lower()


def is_published(frame: pd.DataFrame) -> pd.Series:
    return frame["method"].fillna("").str.startswith(PUBLISHED).astype(bool)


def _label(entry) -> str:
    if entry.unreliable:
        return f"{PUBLISHED}, unreliable"
    return f"{PUBLISHED}, extra data" if entry.additional_data else PUBLISHED


def add_published(frame: pd.DataFrame, robust: str, wra: str, weight: float) -> tuple[pd.DataFrame, str]:
    """`frame` with the matching leaderboard entries appended after its rows, and a note saying what they are."""
    from awbench.models import leaderboard

    evaluated = frame[frame["group"] != NOT_EVALUATED].drop_duplicates("group")
    rows = []
    for _, group in evaluated.iterrows():
        if pd.isna(group["eps"]) or not isinstance(group["dataset"], str) or not isinstance(group["norm"], str):
            continue
        for entry in leaderboard.entries():
            if (entry.dataset, entry.threat_model) != (group["dataset"], group["norm"]) \
                    or abs(entry.eps_value - float(group["eps"])) > EPS_TOLERANCE:
                continue
            worst = min(entry.autoattack_accuracy, entry.external if entry.external is not None else math.inf)
            # WRA only where this comparison's robust metric is one the leaderboard publishes
            published_robust = {AUTOATTACK: entry.autoattack_accuracy, "worst_case_accuracy": worst}.get(robust)
            rows.append({"run": entry.model_id, "model": entry.architecture, "method": _label(entry),
                         "dataset": entry.dataset, "norm": entry.threat_model, "eps": float(group["eps"]),
                         "n_examples": FULL_TEST_SET.get(entry.dataset), "clean_accuracy": entry.clean_accuracy,
                         AUTOATTACK: entry.autoattack_accuracy, "worst_case_accuracy": worst,
                         EXTERNAL: entry.external if entry.external is not None else math.nan,
                         wra: weight * entry.clean_accuracy + (1 - weight) * published_robust
                         if published_robust is not None else math.nan,
                         "pareto": False, "group": group["group"], "aw_net": False,
                         "evaluation": f"RobustBench leaderboard ({entry.venue or 'no venue'})".strip()})
    if not rows:
        return frame, "No RobustBench leaderboard entry matches the dataset, norm and eps of these evaluations."
    published = pd.DataFrame(rows)
    if AUTOATTACK not in frame.columns:  # the published number has its own column, never another attack's
        frame = frame.copy()
        frame.insert(frame.columns.get_loc("worst_case_accuracy"), AUTOATTACK, math.nan)
    if EXTERNAL not in frame.columns:
        frame = frame.copy()
        frame.insert(frame.columns.get_loc("worst_case_accuracy"), EXTERNAL, math.nan)
    combined = pd.concat([frame, published.reindex(columns=frame.columns)], ignore_index=True)
    for name in frame.columns:  # concat widens dtypes (bool -> object); keep the table's own
        if frame[name].dtype != combined[name].dtype and name in ("aw_net", "pareto"):
            combined[name] = combined[name].astype(bool)
    extra = int(published["method"].str.contains("extra").sum())
    unreliable = int(published["method"].str.contains("unreliable").sum())
    lower = int((published[EXTERNAL] < published[AUTOATTACK]).sum())
    note = (f"{len(published)} published RobustBench leaderboard entries of the same dataset/norm/eps were added "
            f"(method 'published': AutoAttack on the full test set, reported by RobustBench, not measured here; "
            f"{extra} trained with extra data, {unreliable} marked unreliable; {lower} with a lower number under a "
            f"stronger external attack, column {EXTERNAL}, which is their worst case and where they are drawn); "
            "they join no Pareto front.")
    return combined, note + _axis_note(frame, robust)


def _axis_note(frame: pd.DataFrame, robust: str) -> str:
    """A warning when the user's robust numbers come from weaker attacks than the published AutoAttack points."""
    own = frame[frame["group"] != NOT_EVALUATED]
    if robust == "worst_case_accuracy":
        if AUTOATTACK in own.columns and own[AUTOATTACK].notna().all():
            return ""
        what = "the worst case of runs not (all) evaluated with AutoAttack"
    elif robust == AUTOATTACK:
        return ""
    else:
        what = f"{robust.removeprefix('robust_')} accuracy"
    return (f" Note: the plot's robust axis is {what}, a weaker attack than the published points' AutoAttack (or "
            "stronger), so the runs' points there are not directly comparable with the grey ones: a weaker attack "
            "leaves a higher accuracy; evaluate with --attack autoattack to compare like with like.")


def draw_published(ax: Axes, rows: pd.DataFrame) -> dict[str, Any]:
    """Grey points (clean vs the published worst case), one marker per kind; the leaderboard's own front is labelled.

    Returns the legend entries {label: handle} of the kinds drawn (the figure draws one legend)."""
    legend: dict[str, Any] = {}
    if rows.empty:
        return legend
    robust = 100 * rows["worst_case_accuracy"].to_numpy(dtype=float)  # min(AutoAttack, external)
    clean = 100 * rows["clean_accuracy"].to_numpy(dtype=float)
    for label, (marker, text) in _STYLES.items():
        chosen = (rows["method"] == label).to_numpy()
        if chosen.any():
            legend[text] = ax.scatter(robust[chosen], clean[chosen], marker=marker, s=28, color="0.6", alpha=0.8,
                                      zorder=1, label=text)
    # Label the leaderboard's own front (reliable entries): the published state of the art at this budget.
    reliable = ~rows["method"].str.contains("unreliable").to_numpy()
    front = np.flatnonzero(pareto_front(np.where(reliable, clean, math.nan), robust))
    front = front[np.argsort(-robust[front])][:MAX_LABELS]
    for step, index in enumerate(front[np.argsort(-clean[front])]):
        # Left of the points, one line lower each: front members sit close together at the top right.
        ax.annotate(str(rows["run"].iloc[index]), (robust[index], clean[index]), xytext=(-6, -10 * step - 3),
                    textcoords="offset points", fontsize=6, color="0.35", ha="right",
                    arrowprops={"arrowstyle": "-", "color": "0.7", "linewidth": 0.5})
    low_x, high_x = ax.get_xlim()
    low_y, high_y = ax.get_ylim()
    ax.set_xlim(min(low_x, float(robust.min()) - 2), max(high_x, min(float(robust.max()) + 12, 102.0)))
    ax.set_ylim(min(low_y, float(clean.min()) - 2), max(high_y, min(float(clean.max()) + 2, 102.0)))
    return legend

"""Pareto fronts of clean vs robust accuracy, computed only among rows evaluated under the same conditions.

Accuracies measured on another dataset, norm, budget or number of test examples are not comparable, so rows
are grouped by (dataset, norm, eps, n_examples) and every group gets its own front; rows of one such group
evaluated with different attack sets (adaptive, which only a dynamic model gets, aside) or on different test
data (the `data` column: origin and file sha256, e.g. the embedded 500-image sample vs full CIFAR-10) are
split further.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

GROUP_KEYS = ("dataset", "norm", "eps", "n_examples")
NOT_EVALUATED = "not evaluated"
# Accuracies are fractions k/n; rounding absorbs float noise so that equal scores compare as ties.
_TIE_DECIMALS = 9


def pareto_front(clean: np.ndarray | pd.Series, robust: np.ndarray | pd.Series) -> np.ndarray:
    """True for the rows that no other row dominates (at least as good on both scores, better on one).

    Exact duplicates do not dominate each other, so both are on the front. Rows with a missing (NaN) score
    are never on the front and never dominate another row.
    """
    clean = np.round(np.asarray(clean, dtype=float), _TIE_DECIMALS)
    robust = np.round(np.asarray(robust, dtype=float), _TIE_DECIMALS)
    scored = ~(np.isnan(clean) | np.isnan(robust))
    c, r = clean[scored], robust[scored]
    # dominates[j, i]: row j is at least as good as row i on both scores and strictly better on one.
    at_least_as_good = (c[:, None] >= c[None, :]) & (r[:, None] >= r[None, :])
    strictly_better = (c[:, None] > c[None, :]) | (r[:, None] > r[None, :])
    dominated = (at_least_as_good & strictly_better).any(axis=0)
    front = np.zeros(len(clean), dtype=bool)
    front[scored] = ~dominated
    return front


def format_eps(eps: float, norm: str | None) -> str:
    """An Linf budget as the usual k/255 when it is one (8/255), anything else as a plain number."""
    if eps is None or pd.isna(eps):
        return "?"
    if norm == "Linf" and eps > 0 and abs(eps * 255 - round(eps * 255)) < 1e-6:
        return f"{round(eps * 255)}/255"
    return f"{eps:g}"


def group_labels(frame: pd.DataFrame, evaluated: pd.Series) -> pd.Series:
    """One label per row naming its evaluation conditions, e.g. 'cifar10 Linf eps=8/255 n=500'.

    Unevaluated rows (runs without an evaluation) form the group 'not evaluated'.
    """
    labels = []
    for (_, row), is_evaluated in zip(frame.iterrows(), evaluated, strict=True):
        if not is_evaluated:
            labels.append(NOT_EVALUATED)
            continue
        dataset = row["dataset"] if not pd.isna(row["dataset"]) else "?"
        norm = row["norm"] if not pd.isna(row["norm"]) else "?"
        n_examples = row["n_examples"] if not pd.isna(row["n_examples"]) else "?"
        labels.append(f"{dataset} {norm} eps={format_eps(row['eps'], row['norm'])} n={n_examples}")
    labels = pd.Series(labels, index=frame.index, dtype="str")
    # Worst cases over different attack sets, or on different test data, are not comparable: such rows get
    # groups of their own, named.
    for column, name in (("attack_set", "attacks"), ("data", "data")):
        if column not in frame.columns:
            continue
        values = frame[column].fillna("?").astype(str)
        for label in labels.unique():
            members = (labels == label) & evaluated.to_numpy(dtype=bool)
            if label != NOT_EVALUATED and values[members].nunique() > 1:
                labels[members] = labels[members] + f" {name}=" + values[members]
    return labels


def data_notes(frame: pd.DataFrame, evaluated: pd.Series) -> list[str]:
    """A note when the evaluations used different test data (origin / file sha256): they never share a group."""
    if "data" not in frame.columns:
        return []
    used = list(dict.fromkeys(frame.loc[evaluated.to_numpy(dtype=bool), "data"].fillna("unrecorded").astype(str)))
    if len(used) < 2:
        return []
    return [f"Evaluations used different test data ({'; '.join(used)}): numbers on different data are not "
            "comparable, so such rows never share a group, a Pareto front, a curve or a paired test."]


def failed_checks(frame: pd.DataFrame) -> pd.Series:
    """Rows whose evaluation failed a self-check: their numbers must not be quoted, so they join no front."""
    return frame["checks"].fillna("").str.contains(r": fail(?:;|$)", regex=True).astype(bool)


def mark_pareto(
    frame: pd.DataFrame, robust_column: str, groups: pd.Series, eligible: pd.Series | None = None
) -> pd.Series:
    """The `pareto` flag of every row: on the clean-vs-`robust_column` front of its own group.

    Rows outside `eligible` (e.g. evaluations whose self-checks failed) neither join nor shape any front.
    """
    robust = frame[robust_column].where(eligible, np.nan) if eligible is not None else frame[robust_column]
    flags = pd.Series(False, index=frame.index, dtype="bool")
    for group in groups.unique():
        if group == NOT_EVALUATED:
            continue
        members = groups.index[groups == group]
        flags.loc[members] = pareto_front(frame.loc[members, "clean_accuracy"], robust.loc[members])
    return flags

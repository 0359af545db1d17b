"""Paired tests between evaluations made on the same examples: who dominates whom, and is it significant?

Two evaluations are paired only when they share the dataset, the threat model (norm, eps), the attack set
and the very same test examples (the `index` column of their per_sample.csv, in order). Then, per pair:
McNemar's exact test on clean correctness and on robust correctness (worst case, or the --metric attack),
and a seeded paired-bootstrap 95% interval of the difference in WRA_w. Evaluations on different examples
are never paired: a difference between them mixes the models with the examples.

A dominates B when it is at least as good on clean and robust accuracy and better on one; the dominance is
significant when at least one of its strict improvements has McNemar p < ALPHA (uncorrected for the number
of pairs: read p-values near ALPHA with care when many pairs are compared).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from awbench.compare.collect import ROBUST_PREFIX
from awbench.compare.pareto import failed_checks
from awbench.run_layout import PER_SAMPLE
from awbench.stats import mcnemar_exact, paired_bootstrap_difference, wra_per_example

ALPHA = 0.05
PAIR_KEYS = ("dataset", "data", "norm", "eps", "attack_set")

FRONT = "front"
SIGNIFICANT = "dominated (significant)"
NOT_SIGNIFICANT = "dominated (not significant)"
NOT_TESTED = "dominated (not tested: different examples)"


@dataclass
class Outcomes:
    """Per-example correctness of one evaluation: the example indices, clean and robust (0/1)."""

    indices: tuple[int, ...]
    clean: np.ndarray
    robust: np.ndarray


def read_outcomes(folder: Path, robust_column: str) -> Outcomes | None:
    """Outcomes from folder/per_sample.csv; None when it is missing, unreadable or lacks the column."""
    try:
        frame = pd.read_csv(folder / PER_SAMPLE)
        clean = (frame["clean_prediction"] == frame["label"]).to_numpy(dtype=bool)
        if robust_column == "worst_case_accuracy":
            robust = frame["survived_all"].to_numpy(dtype=bool)
        else:
            robust = frame[f"survived_{robust_column[len(ROBUST_PREFIX):]}"].to_numpy(dtype=bool)
        return Outcomes(tuple(int(index) for index in frame["index"]), clean, robust & clean)
    except (OSError, KeyError, ValueError, pd.errors.ParserError):
        return None


def _pair_key(row: pd.Series, outcomes: Outcomes) -> tuple:
    return (*(None if pd.isna(row[key]) else row[key] for key in PAIR_KEYS), outcomes.indices)


def verdict(clean_difference: float, robust_difference: float, p_clean: float, p_robust: float) -> str:
    """'A dominates' / 'B dominates' (significant or not), 'trade-off' or 'tie', from A minus B."""
    if clean_difference == 0 and robust_difference == 0:
        return "tie"
    if clean_difference >= 0 and robust_difference >= 0:
        winner, p_values = "A", [p for d, p in ((clean_difference, p_clean), (robust_difference, p_robust)) if d > 0]
    elif clean_difference <= 0 and robust_difference <= 0:
        winner, p_values = "B", [p for d, p in ((clean_difference, p_clean), (robust_difference, p_robust)) if d < 0]
    else:
        return "trade-off"
    significance = "significant" if min(p_values) < ALPHA else "not significant"
    return f"{winner} dominates ({significance})"


def pairwise_table(frame: pd.DataFrame, root: Path, robust_column: str,
                   weight: float) -> tuple[pd.DataFrame, list[str]]:
    """One row per pair of evaluations on the same examples (A is the one listed first in `frame`), and notes
    on the evaluations that could not be paired."""
    outcomes: dict[int, Outcomes] = {}
    missing = []
    for position, row in frame.iterrows():
        if pd.isna(row["evaluation"]) or pd.isna(row["clean_accuracy"]) or pd.isna(row[robust_column]):
            continue
        found = read_outcomes(Path(root) / row["evaluation"], robust_column)
        if found is None:
            missing.append(f"{row['run']} ({row['evaluation']})")
        else:
            outcomes[position] = found
    keys = {position: _pair_key(frame.loc[position], found) for position, found in outcomes.items()}
    records = []
    positions = sorted(outcomes)
    for i, first in enumerate(positions):
        for second in positions[i + 1:]:
            if keys[first] != keys[second]:
                continue
            records.append(_compare_pair(frame, first, second, outcomes[first], outcomes[second], robust_column,
                                         weight))
    notes = []
    unpaired = [position for position in positions if all(keys[position] != keys[other] for other in positions
                                                          if other != position)]
    if unpaired:
        names = ", ".join(f"{frame.loc[p, 'run']} ({frame.loc[p, 'evaluation']})" for p in unpaired)
        notes.append(f"Not paired with any other evaluation (different examples, threat model or attack set; a "
                     f"difference between those would mix models and examples): {names}.")
    if missing:
        notes.append(f"No usable {PER_SAMPLE}, so no paired test: {', '.join(missing)}.")
    return pd.DataFrame.from_records(records, columns=PAIRWISE_COLUMNS), notes


def pairs_against(pairs: pd.DataFrame, evaluations: list[str]) -> pd.DataFrame:
    """The pairs with one of `evaluations`, turned so that it is always A (verdicts turned with it)."""
    kept = []
    for _, pair in pairs.iterrows():
        if pair["a_evaluation"] in evaluations:
            kept.append(pair.to_dict())
        elif pair["b_evaluation"] in evaluations:
            turned = {name: pair[_SWAP.get(name, name)] for name in PAIRWISE_COLUMNS}
            turned["wra_difference"] = -pair["wra_difference"]
            turned["wra_difference_low"], turned["wra_difference_high"] = (-pair["wra_difference_high"],
                                                                           -pair["wra_difference_low"])
            side = {"A": "B", "B": "A"}
            verdict_text = pair["verdict"]
            if " dominates" in verdict_text:
                verdict_text = side[verdict_text[0]] + verdict_text[1:]
            turned["verdict"] = verdict_text
            kept.append(turned)
    return pd.DataFrame.from_records(kept, columns=PAIRWISE_COLUMNS)


_SWAP = {"a": "b", "b": "a", "a_evaluation": "b_evaluation", "b_evaluation": "a_evaluation", "clean_a": "clean_b",
         "clean_b": "clean_a", "robust_a": "robust_b", "robust_b": "robust_a"}

PAIRWISE_COLUMNS = ["a", "b", "a_evaluation", "b_evaluation", "n", "clean_a", "clean_b", "clean_p", "robust_a",
                    "robust_b", "robust_p", "wra_difference", "wra_difference_low", "wra_difference_high", "verdict"]


def _compare_pair(frame: pd.DataFrame, first: int, second: int, a: Outcomes, b: Outcomes, robust_column: str,
                  weight: float) -> dict:
    clean_test, robust_test = mcnemar_exact(a.clean, b.clean), mcnemar_exact(a.robust, b.robust)
    difference = wra_per_example(a.clean, a.robust, weight) - wra_per_example(b.clean, b.robust, weight)
    low, high = paired_bootstrap_difference(difference)
    clean_difference = float(a.clean.mean() - b.clean.mean())
    robust_difference = float(a.robust.mean() - b.robust.mean())
    return {
        "a": frame.loc[first, "run"], "b": frame.loc[second, "run"],
        "a_evaluation": frame.loc[first, "evaluation"], "b_evaluation": frame.loc[second, "evaluation"],
        "n": len(a.indices), "clean_a": float(a.clean.mean()), "clean_b": float(b.clean.mean()),
        "clean_p": clean_test.p_value, "robust_a": float(a.robust.mean()), "robust_b": float(b.robust.mean()),
        "robust_p": robust_test.p_value, "wra_difference": float(difference.mean()), "wra_difference_low": low,
        "wra_difference_high": high,
        "verdict": verdict(clean_difference, robust_difference, clean_test.p_value, robust_test.p_value),
    }


def dominance_column(frame: pd.DataFrame, robust_column: str, pairs: pd.DataFrame) -> pd.Series:
    """Per scored row: 'front', or how it is dominated: significantly (by at least one dominator evaluated on
    the same examples), not significantly (by none of them), or not tested (no dominator on its examples)."""
    dominance: dict[int, str | None] = dict.fromkeys(frame.index)
    dominates: dict[tuple[str, str], str] = {}  # (dominator, dominated) -> significance
    for _, pair in pairs.iterrows():
        for winner, loser, side in ((pair["a_evaluation"], pair["b_evaluation"], "A"),
                                    (pair["b_evaluation"], pair["a_evaluation"], "B")):
            if pair["verdict"].startswith(f"{side} dominates"):
                dominates[(winner, loser)] = pair["verdict"].split("(")[1].rstrip(")")
    failed = failed_checks(frame)
    for position, row in frame.iterrows():
        if pd.isna(row["evaluation"]) or pd.isna(row["clean_accuracy"]) or pd.isna(row[robust_column]):
            continue
        if failed[position]:  # off the fronts because a self-check failed, not because of another row
            continue
        if bool(row["pareto"]):
            dominance[position] = FRONT
            continue
        found = [dominates[(other, row["evaluation"])] for other in frame["evaluation"]
                 if (other, row["evaluation"]) in dominates]
        dominance[position] = (SIGNIFICANT if "significant" in found else NOT_SIGNIFICANT if found else NOT_TESTED)
    return pd.Series(pd.array(list(dominance.values()), dtype="str"), index=frame.index)

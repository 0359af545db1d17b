"""Uncertainty of accuracies measured on n test examples, and paired tests between two models on the same ones.

- `wilson_interval(k, n)`: the Wilson score 95% interval of a proportion k/n (scipy's binomtest).
- `mcnemar_exact(a_correct, b_correct)`: McNemar's exact test on paired 0/1 outcomes: only the discordant
  examples count, and under "no difference" each goes either way with probability 1/2 (an exact binomial).
- `paired_bootstrap_difference(...)`: a seeded percentile interval of the mean of a per-example difference
  (here WRA_w of A minus WRA_w of B), resampling examples, so that both models see the same resample.

Kept free of torch, pandas and plotting so that the evaluation and compare both import it cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import binomtest

CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0


def wilson_interval(successes: int, trials: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval of successes/trials; (nan, nan) when there are no trials."""
    if trials <= 0:
        return float("nan"), float("nan")
    interval = binomtest(int(successes), int(trials)).proportion_ci(confidence_level=confidence, method="wilson")
    return float(interval.low), float(interval.high)


def interval_of_fraction(fraction: float | None, trials: int | None) -> tuple[float, float]:
    """Wilson interval of an accuracy given as a fraction of `trials` examples (k = round(fraction * n))."""
    if fraction is None or trials is None or np.isnan(fraction) or trials <= 0:
        return float("nan"), float("nan")
    return wilson_interval(round(float(fraction) * int(trials)), int(trials))


def accuracy_intervals(summary: dict[str, Any]) -> dict[str, Any]:
    """The `intervals` entry of an evaluation summary: Wilson 95% intervals of clean, each attack, worst case."""
    n = summary.get("n_examples")

    def pair(value: Any) -> list[float] | None:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return None
        return [round(bound, 6) for bound in interval_of_fraction(float(value), n)]

    return {
        "method": "wilson",
        "confidence": CONFIDENCE,
        "clean_accuracy": pair(summary.get("clean_accuracy")),
        "robust_accuracy": {name: pair(value) for name, value in (summary.get("robust_accuracy") or {}).items()},
        "worst_case_accuracy": pair(summary.get("worst_case_accuracy")),
    }


@dataclass(frozen=True)
class McNemar:
    """Discordant counts (only A right, only B right) and the exact two-sided p-value."""

    only_a: int
    only_b: int
    p_value: float


def mcnemar_exact(a_correct: np.ndarray, b_correct: np.ndarray) -> McNemar:
    """McNemar's exact test on two paired 0/1 vectors (the same examples, in the same order)."""
    a, b = np.asarray(a_correct, dtype=bool), np.asarray(b_correct, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"paired outcomes differ in length: {a.shape} vs {b.shape}")
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    if only_a + only_b == 0:
        return McNemar(0, 0, 1.0)
    return McNemar(only_a, only_b, float(binomtest(only_a, only_a + only_b, 0.5).pvalue))


def paired_bootstrap_difference(
    difference: np.ndarray,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    confidence: float = CONFIDENCE,
) -> tuple[float, float]:
    """Percentile interval of mean(`difference`) over `resamples` seeded resamples of the examples."""
    values = np.asarray(difference, dtype=float)
    if values.size == 0:
        return float("nan"), float("nan")
    # A resample is fixed by how often it draws each distinct value, and paired 0/1 outcomes give at most 9
    # distinct differences: drawing those counts (a multinomial) is the same bootstrap at a cost independent of n.
    distinct, counts = np.unique(values, return_counts=True)
    generator = np.random.default_rng(seed)
    draws = generator.multinomial(values.size, counts / values.size, size=resamples)
    means = draws @ distinct / values.size
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(low), float(high)


def wra_per_example(clean_correct: np.ndarray, robust_correct: np.ndarray, weight: float) -> np.ndarray:
    """Each example's contribution to WRA_w = w * clean + (1 - w) * robust (its mean is WRA_w)."""
    return weight * np.asarray(clean_correct, dtype=float) + (1 - weight) * np.asarray(robust_correct, dtype=float)

"""awbench.stats: Wilson intervals, McNemar's exact test, the seeded paired bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binomtest

from awbench.stats import (
    accuracy_intervals,
    interval_of_fraction,
    mcnemar_exact,
    paired_bootstrap_difference,
    wilson_interval,
    wra_per_example,
)

pytestmark = pytest.mark.fast  # no data set: synthetic tensors (see conftest)

Z95 = 1.959963984540054


def _wilson_by_hand(k: int, n: int) -> tuple[float, float]:
    p = k / n
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 / (1 + Z95**2 / n) * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n**2))
    return centre - half, centre + half


@pytest.mark.parametrize(("k", "n", "expected"), [(50, 100, (0.4038, 0.5962)), (0, 10, (0.0, 0.2775)),
                                                  (10, 10, (0.7225, 1.0)), (81, 200, None)])
def test_wilson_interval_matches_hand_computed_values(k: int, n: int, expected) -> None:
    low, high = wilson_interval(k, n)
    by_hand = _wilson_by_hand(k, n)
    assert low == pytest.approx(by_hand[0], abs=1e-9) and high == pytest.approx(by_hand[1], abs=1e-9)
    if expected is not None:  # worked out on paper: 50/100 -> 0.5 -+ 0.0962; 0/10 -> [0, 0.2775]
        assert (low, high) == pytest.approx(expected, abs=1e-4)


def test_wilson_interval_of_no_trials_is_nan_and_fractions_round_to_counts() -> None:
    assert all(math.isnan(bound) for bound in wilson_interval(0, 0))
    assert interval_of_fraction(0.405, 200) == wilson_interval(81, 200)


def test_summary_intervals_cover_each_accuracy() -> None:
    summary = {"n_examples": 200, "clean_accuracy": 0.8, "robust_accuracy": {"pgd": 0.4, "fgsm": 0.5},
               "worst_case_accuracy": 0.35}
    intervals = accuracy_intervals(summary)
    assert intervals["method"] == "wilson" and intervals["confidence"] == 0.95
    for value, bounds in [(0.8, intervals["clean_accuracy"]), (0.4, intervals["robust_accuracy"]["pgd"]),
                          (0.35, intervals["worst_case_accuracy"])]:
        assert bounds[0] < value < bounds[1]
    assert intervals["robust_accuracy"]["pgd"] == pytest.approx(wilson_interval(80, 200), abs=1e-6)


def test_mcnemar_matches_scipys_exact_binomial_on_a_constructed_table() -> None:
    # 2x2 table: both right 60, only A right 15, only B right 5, both wrong 20.
    a = np.array([1] * 60 + [1] * 15 + [0] * 5 + [0] * 20, dtype=bool)
    b = np.array([1] * 60 + [0] * 15 + [1] * 5 + [0] * 20, dtype=bool)
    result = mcnemar_exact(a, b)
    assert (result.only_a, result.only_b) == (15, 5)
    assert result.p_value == pytest.approx(binomtest(15, 20, 0.5, alternative="two-sided").pvalue)
    assert result.p_value == pytest.approx(0.04138946533203125)  # 2 * P(X <= 5), X ~ Bin(20, 1/2)
    assert mcnemar_exact(b, a).p_value == pytest.approx(result.p_value)


def test_mcnemar_without_discordant_pairs_is_one_and_unequal_lengths_raise() -> None:
    same = np.array([1, 0, 1], dtype=bool)
    assert mcnemar_exact(same, same).p_value == 1.0
    with pytest.raises(ValueError):
        mcnemar_exact(same, same[:2])


def test_paired_bootstrap_is_seeded_reproducible_and_covers_the_mean() -> None:
    generator = np.random.default_rng(3)
    a, b = generator.random(300) < 0.6, generator.random(300) < 0.5
    difference = wra_per_example(a, a, 0.5) - wra_per_example(b, b, 0.5)
    first = paired_bootstrap_difference(difference, seed=7)
    assert first == paired_bootstrap_difference(difference, seed=7)
    assert first != paired_bootstrap_difference(difference, seed=8)
    assert first[0] < difference.mean() < first[1]
    assert paired_bootstrap_difference(np.zeros(50)) == (0.0, 0.0)

"""awbench compare --reference robustbench: published leaderboard entries beside the user's runs."""

from __future__ import annotations

import math

import pytest
from test_compare import EPS_4, EPS_8, write_evaluation, write_run

from awbench.compare import compare_runs
from awbench.compare.reference import AUTOATTACK, EXTERNAL, is_published
from awbench.errors import UnknownNameError
from awbench.models import leaderboard

pytestmark = pytest.mark.fast  # no data set: synthetic tensors (see conftest)


@pytest.fixture
def runs(tmp_path):
    root = tmp_path / "runs"
    write_evaluation(write_run(root, "pgd-at"), 0.45, {"pgd": 0.25})
    write_evaluation(write_run(root, "l2-run", norm="L2", eps=0.5), 0.5, {"pgd": 0.3}, norm="L2", eps=0.5)
    return root


def test_published_rows_match_dataset_norm_and_eps(runs, tmp_path):
    result = compare_runs(runs, out=tmp_path / "out", reference="robustbench", formats="csv")
    published = result.frame[is_published(result.frame)]
    expected_linf = [e for e in leaderboard.select("cifar10", "Linf") if abs(e.eps_value - EPS_8) < 5e-4]
    expected_l2 = leaderboard.select("cifar10", "L2")
    assert len(published) == len(expected_linf) + len(expected_l2)
    assert not any(abs(e.eps_value - EPS_4) < 1e-6 for e in expected_linf)  # 4/255 entries stay out
    standard = published[published["run"] == "Standard"].iloc[0]
    assert standard["clean_accuracy"] == pytest.approx(0.9478) and standard[AUTOATTACK] == 0.0
    assert not published["pareto"].any()
    own = result.frame[~is_published(result.frame)]
    assert set(published["group"]) == set(own["group"])  # drawn in the user's panels, not new ones
    assert any("published RobustBench leaderboard entries" in note for note in result.notes)
    csv = (tmp_path / "out" / "comparison.csv").read_text()
    assert "published, extra data" in csv and "published, unreliable" in csv  # distinguishable


def test_published_number_never_fills_another_attacks_column(runs, tmp_path):
    result = compare_runs(runs, out=tmp_path / "out", metric="pgd", reference="robustbench", plot=False,
                          formats="csv")
    published = result.frame[is_published(result.frame)]
    assert published["robust_pgd"].isna().all() and published[AUTOATTACK].notna().all()
    assert published["WRA_0.5_pgd"].isna().all()


def test_plot_with_reference_points_is_drawn(runs, tmp_path):
    result = compare_runs(runs, out=tmp_path / "out", reference="robustbench", formats="csv")
    assert (tmp_path / "out" / "pareto.png").stat().st_size > 0
    svg = (tmp_path / "out" / "pareto.svg").read_text()
    assert "published (RobustBench: AutoAttack" in svg  # the legend names the grey points
    assert result.frame["pareto"].dtype == bool


def test_unknown_reference_is_refused(runs, tmp_path):
    with pytest.raises(UnknownNameError, match="robustbench"):
        compare_runs(runs, out=tmp_path / "out", reference="paperswithcode")


def test_no_matching_entry_says_so(tmp_path):
    root = tmp_path / "runs"
    write_evaluation(write_run(root, "odd"), 0.4, {"pgd": 0.2}, eps=3 / 255)
    result = compare_runs(root, out=tmp_path / "out", reference="robustbench", plot=False, formats="csv")
    assert not is_published(result.frame).any()
    assert any("No RobustBench leaderboard entry matches" in note for note in result.notes)
    assert not math.isnan(result.frame["clean_accuracy"].iloc[0])


def test_a_published_worst_case_is_never_above_the_best_known_attack(runs, tmp_path):
    """RobustBench's `external` (a stronger attack's accuracy) below AutoAttack's is the row's worst case."""
    result = compare_runs(runs, out=tmp_path / "out", reference="robustbench", plot=False, formats="csv")
    published = result.frame[is_published(result.frame)]
    lower = [e for e in leaderboard.select("cifar10", "Linf") if abs(e.eps_value - EPS_8) < 5e-4
             and e.external is not None and e.external < e.autoattack_accuracy]
    assert lower  # the shipped leaderboard has such entries
    for entry in lower:
        row = published[(published["run"] == entry.model_id) & (published["norm"] == "Linf")].iloc[0]
        assert row[AUTOATTACK] == pytest.approx(entry.autoattack_accuracy)
        assert row[EXTERNAL] == pytest.approx(entry.external)
        assert row["worst_case_accuracy"] == pytest.approx(entry.external)
        assert row["WRA_0.5"] == pytest.approx(0.5 * entry.clean_accuracy + 0.5 * entry.external)
    assert (published["worst_case_accuracy"] <= published[AUTOATTACK] + 1e-12).all()
    assert leaderboard.find(lower[0].model_id, "cifar10", "Linf").card()["published_external_accuracy"] == \
        lower[0].external


def test_published_autoattack_beside_weaker_attacks_is_noted(runs, tmp_path):
    for metric in ("pgd", "worst"):  # the runs have PGD only
        result = compare_runs(runs, out=tmp_path / metric, metric=metric, reference="robustbench", plot=False,
                              formats="csv")
        assert any("weaker attack than the published points" in note for note in result.notes), metric
    root = tmp_path / "aa-runs"
    write_evaluation(write_run(root, "aa"), 0.45, {"pgd": 0.25, "autoattack": 0.2})
    result = compare_runs(root, out=tmp_path / "aa", reference="robustbench", plot=False, formats="csv")
    assert not any("weaker attack than the published points" in note for note in result.notes)

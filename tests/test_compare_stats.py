"""awbench compare with uncertainty: interval columns, paired tests, dominance, curves, the eps figure."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from awbench.compare import compare_runs
from awbench.compare.paired import NOT_SIGNIFICANT, NOT_TESTED, SIGNIFICANT, verdict
from awbench.errors import AwbenchError
from awbench.stats import paired_bootstrap_difference, wilson_interval

pytestmark = pytest.mark.fast  # no data set: synthetic tensors (see conftest)

EPS_8 = 8 / 255
N = 200


def write_paired_evaluation(root: Path, run: str, clean: np.ndarray, robust: np.ndarray, *, eps: float = EPS_8,
                            indices: list[int] | None = None, model: str = "small-cnn", method: str = "pgd-at",
                            attacks: tuple[str, ...] = ("pgd",), name: str = "eval-1", **extra) -> Path:
    """An evaluation folder whose summary.json and per_sample.csv agree (robust implies clean)."""
    folder = root / run / name
    folder.mkdir(parents=True)
    clean, robust = np.asarray(clean, bool), np.asarray(robust, bool) & np.asarray(clean, bool)
    n = len(clean)
    indices = list(range(n)) if indices is None else indices
    labels = np.arange(n) % 10
    frame = pd.DataFrame({"index": indices, "label": labels, "clean_prediction": np.where(clean, labels, labels + 1)})
    for attack in attacks:
        frame[f"survived_{attack}"] = robust.astype(int)
    frame["survived_all"] = robust.astype(int)
    frame.to_csv(folder / "per_sample.csv", index=False)
    summary = {"checkpoint": f"{run}.pt", "run": run, "model": model, "method": method, "dataset": "cifar10",
               "n_examples": n, "norm": extra.pop("norm", "Linf"), "eps": eps, "clean_accuracy": float(clean.mean()),
               "robust_accuracy": {attack: float(robust.mean()) for attack in attacks},
               "worst_case_accuracy": float(robust.mean()), "attacks": list(attacks),
               "checks": {"eps0": {"status": "pass", "detail": "ok"}}, **extra}
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder


def outcomes(clean: int, robust: int, n: int = N, shift: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`clean` clean-correct and `robust` robust-correct examples (robust ones a subset), rolled by `shift`."""
    clean_flags, robust_flags = np.arange(n) < clean, np.arange(n) < robust
    return np.roll(clean_flags, shift), np.roll(robust_flags, shift)


def test_interval_columns_are_the_wilson_intervals_and_the_tables_show_them(tmp_path: Path) -> None:
    write_paired_evaluation(tmp_path, "a", *outcomes(120, 50))
    result = compare_runs(tmp_path, plot=False)
    row = result.frame.iloc[0]
    assert (row["clean_accuracy_ci_low"], row["clean_accuracy_ci_high"]) == pytest.approx(wilson_interval(120, N))
    assert (row["worst_case_accuracy_ci_low"], row["worst_case_accuracy_ci_high"]) == pytest.approx(
        wilson_interval(50, N))
    assert (row["robust_pgd_ci_low"], row["robust_pgd_ci_high"]) == pytest.approx(wilson_interval(50, N))
    low, high = wilson_interval(120, N)
    markdown = (tmp_path / "comparison.md").read_text()
    assert "clean % 95% CI" in markdown and f"[{100 * low:.1f}, {100 * high:.1f}]" in markdown
    assert "95\\% CI" in (tmp_path / "comparison.tex").read_text()


def test_paired_tests_match_mcnemar_and_the_bootstrap_and_name_the_dominance(tmp_path: Path) -> None:
    # b beats c clearly on both scores (significant); d is a hair below b (dominated, not significantly).
    write_paired_evaluation(tmp_path, "b", *outcomes(150, 80))
    write_paired_evaluation(tmp_path, "c", *outcomes(110, 40))
    write_paired_evaluation(tmp_path, "d", *outcomes(148, 79))
    result = compare_runs(tmp_path, formats=["csv", "md"], plot=False)
    pairs = result.pairs.set_index(["a", "b"])
    b_c = pairs.loc[("b", "c")] if ("b", "c") in pairs.index else None
    assert b_c is not None, result.pairs
    # Outcomes are nested, so the discordant examples are all "only b right": 40 on clean, 40 on robust.
    assert b_c["clean_p"] == pytest.approx(binomtest(40, 40, 0.5).pvalue)
    assert b_c["robust_p"] == pytest.approx(binomtest(40, 40, 0.5).pvalue)
    assert b_c["verdict"] == "A dominates (significant)"
    difference = 0.5 * (outcomes(150, 80)[0].astype(float) - outcomes(110, 40)[0]) + 0.5 * (
        outcomes(150, 80)[1].astype(float) - outcomes(110, 40)[1])
    low, high = paired_bootstrap_difference(difference)
    assert (b_c["wra_difference_low"], b_c["wra_difference_high"]) == pytest.approx((low, high))
    assert b_c["wra_difference"] == pytest.approx(0.5 * 0.2 + 0.5 * 0.2)
    dominance = result.frame.set_index("run")["dominance"]
    assert dominance.to_dict() == {"b": "front", "d": NOT_SIGNIFICANT, "c": SIGNIFICANT}
    assert (tmp_path / "pairwise.csv").is_file() and "McNemar" in (tmp_path / "pairwise.md").read_text()


def test_runs_on_different_examples_are_never_paired_and_say_so(tmp_path: Path) -> None:
    write_paired_evaluation(tmp_path, "b", *outcomes(150, 80))
    write_paired_evaluation(tmp_path, "c", *outcomes(110, 40), indices=list(range(1000, 1000 + N)))
    result = compare_runs(tmp_path, formats=["csv"], plot=False)
    assert result.pairs.empty
    assert any("Not paired" in note and "different examples" in note for note in result.notes)
    assert result.frame.set_index("run").loc["c", "dominance"] == NOT_TESTED


def test_against_keeps_its_pairs_with_it_as_a_and_an_unknown_run_is_an_error(tmp_path: Path) -> None:
    write_paired_evaluation(tmp_path, "b", *outcomes(150, 80))
    write_paired_evaluation(tmp_path, "c", *outcomes(110, 40))
    write_paired_evaluation(tmp_path, "d", *outcomes(148, 79))
    result = compare_runs(tmp_path, formats=["md"], plot=False, against="c")
    assert sorted(result.pairs["b"]) == ["b", "d"] and set(result.pairs["a"]) == {"c"}
    assert set(result.pairs["verdict"]) == {"B dominates (significant)"}
    assert (result.pairs["wra_difference"] < 0).all()
    with pytest.raises(AwbenchError, match="nosuch"):
        compare_runs(tmp_path, formats=(), plot=False, against="nosuch")


@pytest.mark.parametrize(("differences", "expected"), [
    ((0.1, 0.0, 0.01, 1.0), "A dominates (significant)"), ((0.1, 0.0, 0.2, 1.0), "A dominates (not significant)"),
    ((-0.1, -0.1, 0.5, 0.01), "B dominates (significant)"), ((0.1, -0.1, 0.01, 0.01), "trade-off"),
    ((0.0, 0.0, 1.0, 1.0), "tie")])
def test_verdicts(differences, expected) -> None:
    assert verdict(*differences) == expected


def test_fronts_never_mix_attack_sets(tmp_path: Path) -> None:
    write_paired_evaluation(tmp_path, "pgd-only", *outcomes(150, 90))
    write_paired_evaluation(tmp_path, "with-aa", *outcomes(140, 60), attacks=("pgd", "autoattack"))
    write_paired_evaluation(tmp_path, "aw", *outcomes(130, 70), attacks=("pgd", "autoattack", "adaptive"),
                            model="aw-small-cnn", method="awnet")
    frame = compare_runs(tmp_path, formats=(), plot=False).frame.set_index("run")
    assert frame.loc["pgd-only", "group"] != frame.loc["with-aa", "group"]
    assert frame.loc["with-aa", "group"] == frame.loc["aw", "group"]  # adaptive runs only on dynamic models
    assert frame.loc["with-aa", "group"].endswith("attacks=pgd+autoattack")
    assert frame["pareto"].all()  # pgd-only would dominate with-aa if they shared a front


def test_rows_sharing_a_curve_are_one_labelled_line_beside_single_points(tmp_path: Path) -> None:
    # The contract written by the dynamic helper's r-sweep and by `awbench interpolate`, constructed here.
    for i, signal in enumerate((0.0, 0.5, 1.0)):
        write_paired_evaluation(tmp_path, f"aw-r{signal:g}", *outcomes(160 - 20 * i, 40 + 15 * i),
                                model="aw-small-cnn", method="awnet", pin_signal=signal,
                                curve={"kind": "pin_signal", "value": signal, "label": "aw r-sweep"})
    write_paired_evaluation(tmp_path, "static", *outcomes(140, 50))
    result = compare_runs(tmp_path, formats=["csv"])
    frame = result.frame.set_index("run")
    assert frame.loc["aw-r0.5", "curve_kind"] == "pin_signal" and frame.loc["aw-r0.5", "curve_value"] == 0.5
    assert pd.isna(frame.loc["static", "curve_kind"])
    svg = (tmp_path / "pareto.svg").read_text()
    assert "curve: aw r-sweep (pin_signal)" in svg and "Wilson 95% interval" in svg and "model: aw-small-cnn" in svg
    assert "method: awnet" in svg and "Pareto front (ringed)" in svg


def test_evaluations_at_several_budgets_draw_accuracy_against_eps_and_flag_a_rise(tmp_path: Path) -> None:
    for i, eps in enumerate((2 / 255, 4 / 255, 8 / 255)):
        write_paired_evaluation(tmp_path, "falling", *outcomes(150, 120 - 30 * i), eps=eps, name=f"eval-{i}")
        write_paired_evaluation(tmp_path, "rising", *outcomes(150, 50 + 20 * (i == 2)), eps=eps, name=f"eval-{i}")
    write_paired_evaluation(tmp_path, "unbounded", *outcomes(150, 100), eps=8 / 255, name="eval-8")
    write_paired_evaluation(tmp_path, "unbounded", *outcomes(150, 30), eps=0.5, name="eval-half")
    for i, eps in enumerate((0.25, 0.5)):
        write_paired_evaluation(tmp_path, "l2-model", *outcomes(150, 90 - 30 * i), eps=eps, name=f"eval-{i}",
                                norm="L2")
    result = compare_runs(tmp_path, formats=())
    assert tmp_path / "robustness_vs_eps.png" in result.files
    svg = (tmp_path / "robustness_vs_eps.svg").read_text()
    assert all(name in svg for name in ("falling", "rising", "unbounded", "l2-model"))
    assert "cifar10 Linf: accuracy vs budget" in svg and "cifar10 L2: accuracy vs budget" in svg  # a panel per norm
    flags = [note for note in result.notes if "(flag)" in note]
    assert any(note.startswith("rising:") and "rises with eps" in note for note in flags)
    assert any(note.startswith("unbounded:") and "eps 0.5" in note for note in flags)
    assert not any(note.startswith("falling:") for note in flags)


def test_a_single_budget_per_model_draws_no_eps_figure(tmp_path: Path) -> None:
    write_paired_evaluation(tmp_path, "a", *outcomes(150, 80))
    assert not (tmp_path / "robustness_vs_eps.png").exists() and compare_runs(tmp_path, formats=()).files == [
        tmp_path / "pareto.png", tmp_path / "pareto.svg"]


def _data(origin: str, sha256: str | None = None) -> dict:
    files = [{"path": "cifar10_test.npz", "bytes": 1, "sha256": sha256}] if sha256 else []
    return {"dataset": "cifar10", "split": "test", "origin": origin, "images": N, "files": files}


def test_evaluations_on_different_test_data_never_share_a_group_front_curve_or_pair(tmp_path: Path) -> None:
    # Same dataset name, norm, eps, n and attacks; one on the embedded sample, one on the full test set.
    write_paired_evaluation(tmp_path, "sample", *outcomes(150, 90), data=_data("embedded-sample", "a" * 64))
    write_paired_evaluation(tmp_path, "full", *outcomes(140, 60), data=_data("folder", "b" * 64))
    write_paired_evaluation(tmp_path, "full-too", *outcomes(130, 50), data=_data("folder", "b" * 64))
    for eps in (2 / 255, 16 / 255):  # a second budget each: accuracy-vs-eps lines
        write_paired_evaluation(tmp_path, "sample", *outcomes(150, 95), eps=eps, name=f"e{eps:.3f}",
                                data=_data("embedded-sample", "a" * 64))
        write_paired_evaluation(tmp_path, "sample", *outcomes(150, 95), eps=eps, name=f"f{eps:.3f}",
                                data=_data("folder", "b" * 64))
    result = compare_runs(tmp_path, formats=["csv"])
    frame = result.frame[result.frame["eps"] == EPS_8].set_index("run")
    assert frame.loc["sample", "group"] != frame.loc["full", "group"]
    assert frame.loc["full", "group"] == frame.loc["full-too", "group"]
    assert frame.loc["sample", "group"].endswith("data=embedded-sample sha256:aaaaaaaaaaaa")
    assert frame.loc["sample", "pareto"]  # 'sample' would dominate 'full' on one front
    assert frame.loc["full", "pareto"] and not frame.loc["full-too", "pareto"]
    assert any("different test data" in note for note in result.notes)
    mixed = {("sample", "full"), ("full", "sample"), ("sample", "full-too"), ("full-too", "sample")}
    assert not mixed & set(zip(result.pairs["a"], result.pairs["b"], strict=True))
    from awbench.compare.curves import eps_lines

    lines = eps_lines(result.frame, "worst_case_accuracy")
    assert all(line["data"].nunique() == 1 for line in lines) and len(lines) == 2

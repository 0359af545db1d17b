"""awbench.evaluation.eps_sweep: budgets on the same examples, re-using work, with its checks and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
from conftest import one_line_error

from awbench.errors import AwbenchError
from awbench.evaluation import eps_sweep, evaluate_checkpoint
from awbench.evaluation.checks import check
from awbench.evaluation.eps_sweep import (
    RECHECK_EXAMPLES,
    eps_folder_name,
    evaluate_eps_sweep,
    parse_eps_list,
    unbounded_check,
)
from awbench.run_layout import SWEEP as SWEEP_FILE

MODEL = "zoo:cifar10-small-cnn-standard"
# Deterministic PGD (no random start): a sample's result does not depend on which batch it shares.
QUICK = {"attacks": ["pgd"], "n_examples": 40, "batch_size": 16, "steps": 3, "random_start": False,
         "device": "cpu", "show_progress": False, "seed": 0}
BUDGETS = [1 / 255, 2 / 255, 4 / 255]


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


def _survived(folder: str | Path) -> pd.Series:
    return pd.read_csv(Path(folder) / "per_sample.csv")["survived_pgd"].astype(bool)


def test_a_sweep_gives_the_numbers_of_separate_evaluations_at_each_eps(data_dir, tmp_path: Path) -> None:
    sweep = evaluate_eps_sweep(MODEL, eps="4/255,1/255,2/255", out=tmp_path / "sweep", data_dir=data_dir, **QUICK)
    assert sweep["eps"] == BUDGETS  # sorted, smallest first
    broken_before = None
    for value, summary in zip(BUDGETS, sweep["summaries"], strict=True):
        alone = evaluate_checkpoint(MODEL, eps=value, out=tmp_path / f"alone-{value:.4f}", data_dir=data_dir,
                                    **QUICK)
        assert summary["clean_accuracy"] == alone["clean_accuracy"]
        assert summary["robust_accuracy"] == alone["robust_accuracy"]
        assert summary["worst_case_accuracy"] == alone["worst_case_accuracy"]
        # Per example: exactly the separate evaluation, given that a smaller budget already broke none it kept.
        swept, separate = _survived(summary["out"]), _survived(alone["out"])
        expected = separate if broken_before is None else separate & ~broken_before
        assert swept.equals(expected)
        broken_before = ~swept
        assert summary["eps_sweep"]["eps"] == BUDGETS
        assert summary["intervals"]["worst_case_accuracy"][0] <= summary["worst_case_accuracy"]
    # Re-use: the larger budgets attacked only the survivors of the smaller ones, plus the re-checked few.
    attacked = [summary["details"]["pgd"]["attacked"] for summary in sweep["summaries"]]
    survivors = [round(summary["robust_accuracy"]["pgd"] * 40) for summary in sweep["summaries"]]
    broken = [round((summary["clean_accuracy"] - summary["robust_accuracy"]["pgd"]) * 40)
              for summary in sweep["summaries"]]
    rechecked = [min(RECHECK_EXAMPLES, count) for count in broken]
    assert [a - r for a, r in zip(attacked[1:], rechecked[:-1], strict=True)] == survivors[:-1]
    assert survivors[0] < attacked[0]
    written = json.loads((tmp_path / "sweep" / SWEEP_FILE).read_text())
    assert [row["eps"] for row in written["table"]] == BUDGETS
    assert {name.split("/")[1] for name in written["checks"]} == {"sweep_recheck:pgd"}
    assert all(found["status"] == "pass" for found in written["checks"].values())
    assert sorted(path.name for path in (tmp_path / "sweep").iterdir()) == [
        "eps-1_255", "eps-2_255", "eps-4_255", SWEEP_FILE]
    # compare reads the sweep: one row per budget, one line in the accuracy-vs-eps figure.
    from awbench.compare import compare_runs

    compared = compare_runs(tmp_path / "sweep", out=tmp_path / "compared", formats=["csv"])
    assert sorted(compared.frame["eps"]) == BUDGETS
    assert (tmp_path / "compared" / "robustness_vs_eps.png") in compared.files
    assert compared.pairs.empty  # different budgets are never paired


@pytest.mark.parametrize(("text", "fragment"), [("1/255,abc", "not a number"), ("1/255,-0.1", "[0, 1]"),
                                                ("2/255,2/255", "twice"), ("1/255,,2/255", "empty")])
def test_bad_eps_lists_are_one_line_errors(text: str, fragment: str) -> None:
    with pytest.raises(AwbenchError) as error:
        parse_eps_list(text)
    assert fragment in str(error.value) and "\n" not in str(error.value)


def test_one_budget_is_not_a_sweep() -> None:
    with pytest.raises(AwbenchError, match="at least two"):
        evaluate_eps_sweep(MODEL, eps=[8 / 255])


def test_unbounded_check_fails_on_survivors_at_half_linf_only() -> None:
    assert unbounded_check(0.5, "Linf", 0.0, 100)["status"] == "pass"
    assert unbounded_check(0.5, "Linf", 0.05, 100)["status"] == "pass"  # checks.LARGE_EPS_SURVIVORS of them
    assert unbounded_check(0.5, "Linf", 0.2, 100)["status"] == "fail"
    assert unbounded_check(0.5, "Linf", 0.2, 100, randomised=True)["status"] == "flag"
    assert unbounded_check(8 / 255, "Linf", 0.4) is None and unbounded_check(0.5, "L2", 0.4) is None


def test_budgets_closer_than_the_folder_name_precision_get_their_own_folders() -> None:
    assert eps_folder_name(8 / 255, "Linf") == "eps-8_255"
    names = {eps_folder_name(value, "Linf") for value in (8 / 255, 8 / 255 + 1e-9, 0.0313725, 0.03137251)}
    assert len(names) == 4
    assert eps_folder_name(0.5, "L2") == "eps-0.5"


def test_a_python_list_with_a_repeated_budget_is_refused() -> None:
    with pytest.raises(AwbenchError, match="twice"):
        evaluate_eps_sweep(MODEL, eps=[8 / 255, 4 / 255, 8 / 255])


N_FAKE = 40


def _fake_evaluation(survives, large_eps_status: str = "pass"):
    """An evaluate_checkpoint stand-in: example i survives the budget eps when survives(eps, i) (if attacked);
    every example is clean-correct; writes per_sample.csv as the runner does."""

    def evaluate(checkpoint, *, eps, out, attack_only=None, **_):
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        allowed = attack_only["pgd"] if attack_only else torch.ones(N_FAKE, dtype=torch.bool)
        survived = [bool(allowed[i]) and survives(eps, i) for i in range(N_FAKE)]
        pd.DataFrame({"index": range(N_FAKE), "label": 0, "clean_prediction": 0, "survived_pgd": survived,
                      "survived_all": survived}).astype(int).to_csv(out / "per_sample.csv", index=False)
        accuracy = sum(survived) / N_FAKE
        return {"out": str(out), "eps": eps, "norm": "Linf", "clean_accuracy": 1.0, "n_examples": N_FAKE,
                "robust_accuracy": {"pgd": accuracy}, "worst_case_accuracy": accuracy, "attacks": ["pgd"],
                "seconds": {"total": 0.0}, "checkpoint": checkpoint,
                "details": {"pgd": {"attacked": int(allowed.sum())}},
                "checks": {"deterministic": check("pass", "fake"),
                           "large_eps_breaks_all": check(large_eps_status, "the runner's own check")}}

    return evaluate


def test_the_recheck_fails_when_the_attack_no_longer_breaks_what_it_broke(tmp_path: Path, monkeypatch) -> None:
    # A sane attack: the survivors at a larger budget are a subset of those at a smaller one.
    monkeypatch.setattr(eps_sweep, "evaluate_checkpoint", _fake_evaluation(lambda eps, i: i < 30 - 1000 * eps))
    sane = evaluate_eps_sweep("fake", eps=[1 / 255, 2 / 255], out=tmp_path / "sane")
    assert sane["summaries"][1]["checks"]["sweep_recheck:pgd"]["status"] == "pass"
    # A broken attack: at the larger budget it breaks only what survived the smaller one.
    monkeypatch.setattr(eps_sweep, "evaluate_checkpoint", _fake_evaluation(
        lambda eps, i: i < 20 if eps < 0.005 else i >= 10))
    broken = evaluate_eps_sweep("fake", eps=[1 / 255, 2 / 255], out=tmp_path / "broken")
    found = broken["summaries"][1]["checks"]["sweep_recheck:pgd"]
    assert found["status"] == "fail" and f"{RECHECK_EXAMPLES} survived" in found["detail"]
    assert broken["checks"]["eps-2_255/sweep_recheck:pgd"] == found
    written = json.loads((tmp_path / "broken" / "eps-2_255" / "summary.json").read_text())
    assert written["checks"]["sweep_recheck:pgd"]["status"] == "fail"
    assert eps_sweep.failed_sweep_checks(broken) == ["eps 0.0078431: sweep_recheck:pgd"]


def test_an_attack_that_breaks_no_survivor_is_flagged_as_stalled(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(eps_sweep, "evaluate_checkpoint", _fake_evaluation(lambda eps, i: i < 20))
    result = evaluate_eps_sweep("fake", eps=[1 / 255, 2 / 255], out=tmp_path / "stalled")
    assert result["summaries"][1]["checks"]["sweep_stalled:pgd"]["status"] == "flag"
    assert "sweep_stalled:pgd" not in result["summaries"][0]["checks"]


def test_the_sweeps_large_eps_check_fails_and_keeps_the_runners_own(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(eps_sweep, "evaluate_checkpoint", _fake_evaluation(lambda eps, i: i < 10, "fail"))
    result = evaluate_eps_sweep("fake", eps=[8 / 255, 0.5], out=tmp_path / "large")
    checks = result["summaries"][1]["checks"]
    assert checks["sweep_large_eps"]["status"] == "fail"
    assert checks["large_eps_breaks_all"] == check("fail", "the runner's own check")  # not overwritten
    assert "sweep_large_eps" not in result["summaries"][0]["checks"]


def test_the_cli_sweeps_a_list_and_rejects_a_bad_one(data_dir, tmp_path: Path, run_cli) -> None:
    assert "not a number" in one_line_error(*run_cli("eval", MODEL, "--eps", "1/255,x", "--data-dir", data_dir)[::2])
    code, _, err = run_cli("eval", MODEL, "-a", "fgsm", "--eps", "1/255,8/255", "--n-examples", "12", "--device", "cpu",
                        "--data-dir", str(data_dir), "--out", str(tmp_path / "cli"))
    assert code == 0, err
    assert (tmp_path / "cli" / "eps-8_255" / "summary.json").is_file() and "sweep_recheck:fgsm: pass" in err

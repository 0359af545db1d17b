"""awbench.evaluation.eps_sweep: budgets on the same examples, re-using work, with its checks and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from awbench.errors import AwbenchError
from awbench.evaluation import evaluate_checkpoint
from awbench.evaluation.eps_sweep import (
    SWEEP_FILE,
    evaluate_eps_sweep,
    monotone_check,
    parse_eps_list,
    unbounded_check,
)

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
    # Re-use: the larger budgets attacked only the survivors of the smaller ones.
    attacked = [summary["details"]["pgd"]["attacked"] for summary in sweep["summaries"]]
    survivors = [round(summary["robust_accuracy"]["pgd"] * 40) for summary in sweep["summaries"]]
    assert attacked[1:] == survivors[:-1] and attacked[1] < attacked[0]
    written = json.loads((tmp_path / "sweep" / SWEEP_FILE).read_text())
    assert [row["eps"] for row in written["table"]] == BUDGETS
    assert written["checks"]["eps_monotone"]["status"] == "pass"
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


def test_monotone_check_flags_a_rise_and_passes_a_fall() -> None:
    assert monotone_check([(1 / 255, 0.5), (2 / 255, 0.4), (4 / 255, 0.4)])["status"] == "pass"
    flagged = monotone_check([(2 / 255, 0.3), (1 / 255, 0.5), (4 / 255, 0.35)])
    assert flagged["status"] == "flag" and "0.3000" in flagged["detail"] and "0.3500" in flagged["detail"]


def test_unbounded_check_flags_survivors_at_half_linf_only() -> None:
    assert unbounded_check(0.5, "Linf", 0.0)["status"] == "pass"
    assert unbounded_check(0.5, "Linf", 0.2)["status"] == "flag"
    assert unbounded_check(8 / 255, "Linf", 0.4) is None and unbounded_check(0.5, "L2", 0.4) is None


def test_the_cli_sweeps_a_list_and_rejects_a_bad_one(data_dir, tmp_path: Path, monkeypatch, capsys) -> None:
    import sys

    from awbench.cli import main

    def run(*args: str) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["awbench", *args])
        try:
            main()
        except SystemExit as done:
            return int(done.code or 0), capsys.readouterr().err
        return 0, capsys.readouterr().err

    code, err = run("eval", MODEL, "--eps", "1/255,x", "--data-dir", str(data_dir))
    assert code != 0 and err.strip().count("\n") == 0 and "not a number" in err
    code, err = run("eval", MODEL, "-a", "fgsm", "--eps", "1/255,8/255", "--n-examples", "12", "--device", "cpu",
                    "--data-dir", str(data_dir), "--out", str(tmp_path / "cli"))
    assert code == 0, err
    assert (tmp_path / "cli" / "eps-8_255" / "summary.json").is_file() and "eps_monotone: pass" in err

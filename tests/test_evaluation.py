"""evaluate_checkpoint / evaluate_model: summary, per-sample CSV, checks, cascade, resume, AW-Net."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from awbench.attacks import Attack, create_attack
from awbench.errors import AwbenchError
from awbench.evaluation import evaluate_checkpoint, evaluate_model
from awbench.run_layout import EVALUATION_STATE as STATE_FILE
from awbench.threat import Norm, ThreatModel

pytestmark = pytest.mark.threads(1)  # see conftest: one steady thread for evaluation tests

FAST = {"n_examples": 40, "batch_size": 16, "seed": 0, "device": "cpu", "show_progress": False, "steps": 3}
CHEAP_AA = {"version": "custom", "aa_attacks": ["apgd-ce"], "aa_iterations": 3}
SUMMARY_KEYS = {"checkpoint", "model", "method", "run", "dataset", "n_examples", "norm", "eps", "seed", "device",
                "versions", "clean_accuracy", "robust_accuracy", "worst_case_accuracy", "seconds", "checks",
                "dynamic", "cascade", "per_attack_accuracy_means", "attacks", "out"}


@pytest.fixture(scope="module")
def four_attack_summary(small_cnn_run, data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval") / "four"
    return evaluate_checkpoint(small_cnn_run, attacks=["clean", "fgsm", "pgd", "cw"], data_dir=data_dir, out=out,
                               **FAST)


def test_summary_has_every_field_and_fractions(four_attack_summary):
    summary = four_attack_summary
    assert SUMMARY_KEYS <= set(summary)
    assert summary["model"] == "small-cnn" and summary["dataset"] == "cifar10" and summary["n_examples"] == 40
    assert summary["norm"] == "Linf" and summary["eps"] == pytest.approx(8 / 255)  # from the checkpoint
    assert summary["dynamic"] is False and "adaptive" not in summary["robust_accuracy"]
    fractions = [summary["clean_accuracy"], summary["worst_case_accuracy"], *summary["robust_accuracy"].values()]
    assert all(0 <= value <= 1 for value in fractions)
    assert summary["robust_accuracy"]["clean"] == summary["clean_accuracy"] > 0
    for name in ("fgsm", "pgd", "cw"):  # each attack lowers the accuracy of a non-robust model
        assert summary["robust_accuracy"][name] < summary["clean_accuracy"]
    assert set(summary["seconds"]) >= {"clean", "fgsm", "pgd", "cw", "total"}
    statuses = {name: check["status"] for name, check in summary["checks"].items()}
    assert statuses == {name: "pass" for name in statuses}
    assert {"deterministic", "batch_independent", "eps0_pgd_equals_clean", "large_eps_breaks_all", "budget:pgd",
            "budget:fgsm", "budget:cw", "budget:clean", "rejudged:pgd", "rejudged:cw"} <= set(statuses)
    assert not {"robust_le_clean", "worst_le_each", "dynamic"} & set(statuses)  # could not fail: gone


def test_per_sample_csv_agrees_with_summary(four_attack_summary):
    out = Path(four_attack_summary["out"])
    frame = pd.read_csv(out / "per_sample.csv")
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk == json.loads(json.dumps(four_attack_summary))
    assert list(frame.columns[:3]) == ["index", "label", "clean_prediction"] and len(frame) == 40
    assert frame["index"].is_unique and frame["label"].value_counts().nunique() == 1  # class-balanced
    assert (frame["clean_prediction"] == frame["label"]).mean() == pytest.approx(on_disk["clean_accuracy"])
    for name, value in on_disk["robust_accuracy"].items():
        assert frame[f"survived_{name}"].mean() == pytest.approx(value)
    assert frame["survived_all"].mean() == pytest.approx(on_disk["worst_case_accuracy"])
    survived = frame[[f"survived_{name}" for name in on_disk["robust_accuracy"]]].min(axis=1)
    assert (survived == frame["survived_all"]).all()


def test_cascade_gives_the_same_worst_case(small_cnn_run, data_dir, tmp_path, four_attack_summary):
    deterministic = {**FAST, "random_start": False}
    alone = evaluate_checkpoint(small_cnn_run, attacks=["pgd", "fgsm", "cw"], data_dir=data_dir,
                                out=tmp_path / "alone", **deterministic)
    cascade = evaluate_checkpoint(small_cnn_run, attacks=["pgd", "fgsm", "cw"], data_dir=data_dir,
                                  out=tmp_path / "cascade", cascade=True, **deterministic)
    assert cascade["worst_case_accuracy"] == alone["worst_case_accuracy"]
    assert cascade["attacks"] == ["fgsm", "pgd", "cw"]  # cheapest first
    accuracies = list(cascade["robust_accuracy"].values())
    assert accuracies == sorted(accuracies, reverse=True)  # each number is "after the cascade up to here"
    assert cascade["per_attack_accuracy_means"].startswith("after cascade")
    assert cascade["details"]["pgd"]["attacked"] <= alone["details"]["pgd"]["attacked"]


def test_autoattack_resumes_without_redoing_finished_chunks(small_cnn_run, data_dir, tmp_path, monkeypatch):
    from pyautoattack import AutoAttack

    original, calls = AutoAttack.run_standard_evaluation, []

    def interrupted_after_one_chunk(self, x, y, **kwargs):
        if len(calls) == 1:
            raise KeyboardInterrupt  # the run is killed while its second chunk runs
        calls.append(len(x))
        return original(self, x, y, **kwargs)

    settings = {"attacks": ["autoattack"], "data_dir": data_dir, "aa_chunk_size": 4, **CHEAP_AA, **FAST}
    monkeypatch.setattr(AutoAttack, "run_standard_evaluation", interrupted_after_one_chunk)
    with pytest.raises(KeyboardInterrupt):
        evaluate_checkpoint(small_cnn_run, out=tmp_path / "killed", **settings)
    state = json.loads((tmp_path / "killed" / STATE_FILE).read_text())
    assert list(state["attacks"]["autoattack"]["units"]) == ["0"]

    def counted(self, x, y, **kwargs):
        calls.append(len(x))
        return original(self, x, y, **kwargs)

    monkeypatch.setattr(AutoAttack, "run_standard_evaluation", counted)
    calls.clear()
    resumed = evaluate_checkpoint(small_cnn_run, out=tmp_path / "killed", **settings)
    chunks = -(-resumed["details"]["autoattack"]["attacked"] // 4)
    assert len(calls) == chunks - 1 and resumed["details"]["autoattack"]["resumed_units"] == 1
    calls.clear()
    fresh = evaluate_checkpoint(small_cnn_run, out=tmp_path / "fresh", **settings)
    assert len(calls) == chunks
    assert resumed["robust_accuracy"] == fresh["robust_accuracy"]
    assert resumed["checks"]["autoattack_flags"]["status"] in ("pass", "flag")

    with pytest.raises(AwbenchError, match="other settings"):
        evaluate_checkpoint(small_cnn_run, out=tmp_path / "killed", **{**settings, "eps": "4/255"})


def test_aw_net_gets_the_adaptive_attack_and_the_dynamic_flag(aw_run, data_dir, tmp_path):
    summary = evaluate_checkpoint(aw_run, attacks=["pgd", "autoattack"], data_dir=data_dir, out=tmp_path,
                                  **{**FAST, "n_examples": 20}, **CHEAP_AA)
    assert summary["dynamic"] is True
    assert summary["attacks"] == ["pgd", "autoattack", "adaptive"]
    assert "dynamic" not in summary["checks"]  # a label of the model, not a check
    assert "autoattack_flags" in summary["checks"]
    assert summary["worst_case_accuracy"] <= summary["robust_accuracy"]["adaptive"]
    assert {"first_success_by_candidate", "successes_routed"} <= set(summary["details"]["adaptive"])
    assert "survived_adaptive" in pd.read_csv(tmp_path / "per_sample.csv").columns


def test_default_out_is_an_eval_folder_in_the_run_folder(small_cnn_run, data_dir):
    summary = evaluate_checkpoint(small_cnn_run / "best.pt", attacks=["clean"], data_dir=data_dir,
                                  **{**FAST, "n_examples": 10})
    out = Path(summary["out"])
    assert out.parent == small_cnn_run and out.name.startswith("eval-")
    assert (out / "summary.json").is_file() and (out / "per_sample.csv").is_file()


class _Noisy(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x) + 0.5 * torch.randn(len(x), 10)


class _Overreach(Attack):
    """A broken attack: steps twice the budget."""

    name = "overreach"

    def perturb(self, model, x, y):
        return (x + 2 * self.threat.eps).clamp(0, 1)


def test_checks_flag_randomised_models_and_fail_budget_violations(tiny_model, test_batch):
    x, y = test_batch[0][:32], test_batch[1][:32]
    threat = ThreatModel(Norm.LINF, 8 / 255)
    common = {"device": torch.device("cpu"), "show_progress": False}
    results = evaluate_model(_Noisy(tiny_model), x, y, attacks=[create_attack("fgsm", threat, batch_size=16)],
                             **common)
    assert results["checks"]["deterministic"]["status"] == "flag"
    results = evaluate_model(tiny_model, x, y, attacks=[_Overreach(threat, batch_size=16, seed=0)],
                             **common)
    assert results["checks"]["budget:overreach"]["status"] == "fail"
    assert results["checks"]["deterministic"]["status"] == "pass"


def test_a_zoo_evaluation_goes_to_its_own_folder_not_to_a_run_of_the_same_name():
    from awbench.evaluation.api import default_out

    out = default_out(Path("zoo:cifar10-small-cnn-pgd-at"))
    assert out.parent == Path("runs") / "zoo-cifar10-small-cnn-pgd-at" and out.name.startswith("eval-")


def test_a_resumed_evaluation_reports_this_runs_seconds_apart_from_resumed_work(small_cnn_run, data_dir, tmp_path):
    settings = {"attacks": ["pgd"], "data_dir": data_dir, "out": tmp_path, **FAST}
    first = evaluate_checkpoint(small_cnn_run, **settings)
    assert "resumed_seconds" not in first and 0 < first["seconds"]["pgd"] <= first["seconds"]["total"]
    again = evaluate_checkpoint(small_cnn_run, **settings)  # every unit taken from the state file
    assert again["details"]["pgd"]["resumed_units"] >= 1
    assert again["seconds"]["pgd"] <= again["seconds"]["total"]
    assert again["seconds"]["pgd"] == 0.0
    assert again["resumed_seconds"]["pgd"] == pytest.approx(first["seconds"]["pgd"])
    assert again["robust_accuracy"] == first["robust_accuracy"]

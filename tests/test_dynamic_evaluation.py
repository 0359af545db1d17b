"""Dynamic models in the evaluation: pinning at any r, safe default attacks, per-regime bounds, the r-sweep."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
from conftest import CIFAR, one_line_error

import model_zoo
from awbench.attacks import dynamic
from awbench.errors import AwbenchError
from awbench.evaluation import evaluate_checkpoint
from awbench.evaluation.runner import model_fingerprint
from awbench.evaluation.signal_sweep import parse_values, sweep_signal
from model_zoo.aw import routing

pytestmark = pytest.mark.threads(1)  # see conftest: one steady thread for evaluation tests

FAST = {"n_examples": 24, "batch_size": 16, "seed": 0, "device": "cpu", "show_progress": False, "steps": 2,
        "version": "custom", "aa_attacks": ["apgd-ce"], "aa_iterations": 2}


@pytest.fixture(scope="module")
def aw_model():
    torch.manual_seed(0)
    model = model_zoo.create("aw-small-cnn", mean=CIFAR.mean, std=CIFAR.std).eval()
    with torch.no_grad():  # make the two banks differ, so that r matters
        for name, parameter in model.named_parameters():
            if "adversarial" in name or "weight" in name:
                parameter.add_(0.05 * torch.randn_like(parameter))
    return model


def test_pinned_accepts_any_r_in_the_unit_interval(aw_model):
    awnet = routing(aw_model)
    x = torch.rand(4, 3, 32, 32)
    outputs = {}
    for mode in ("clean", 0.0, 0.5, 1.0, "adversarial", 1):
        with torch.no_grad(), awnet.pinned(mode):
            outputs[mode] = aw_model(x)
        expected = {"clean": 0.0, "adversarial": 1.0}.get(mode, mode)
        assert all(torch.all(signal == expected) for signal in awnet.last_signals.values())
    torch.testing.assert_close(outputs[0.0], outputs["clean"], rtol=0, atol=0)
    torch.testing.assert_close(outputs[1.0], outputs["adversarial"], rtol=0, atol=0)
    assert not torch.allclose(outputs[0.5], outputs[0.0]) and not torch.allclose(outputs[0.5], outputs[1.0])
    for bad in (1.5, -0.1, float("nan"), True, "robust", None):
        with pytest.raises(ValueError, match="pinned"):
            with awnet.pinned(bad):
                pass
    assert awnet._pinned_mode is None


def test_pinned_signal_model_is_static_and_has_its_own_fingerprint(aw_model):
    pinned = dynamic.pin(aw_model, 0.25)
    assert dynamic.router_of(pinned) is None and not dynamic.model_is_dynamic(pinned)
    assert dynamic.model_is_dynamic(aw_model) and dynamic.pinned_value(pinned) == 0.25
    x = torch.rand(3, 3, 32, 32)
    with torch.no_grad(), routing(aw_model).pinned(0.25):
        expected = aw_model(x)
    with torch.no_grad():
        torch.testing.assert_close(pinned(x), expected, rtol=0, atol=0)
    fingerprints = {model_fingerprint(m) for m in (aw_model, pinned, dynamic.pin(aw_model, 0.5))}
    assert len(fingerprints) == 3  # a resumed evaluation never mixes pinned and dynamic results


def test_pin_refuses_static_models_and_values_outside_the_unit_interval(standard_model, aw_model):
    with pytest.raises(AwbenchError, match="needs a dynamic model"):
        dynamic.pin(standard_model, 0.5)
    for bad in (1.01, -1, float("nan"), "x", True):
        with pytest.raises(AwbenchError, match="--pin-signal"):
            dynamic.pin(aw_model, bad)


@pytest.fixture(scope="module")
def dynamic_summary(aw_run, data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval") / "dynamic"
    return evaluate_checkpoint(aw_run, attacks=["pgd"], data_dir=data_dir, out=out, **FAST)


def test_a_dynamic_model_gets_the_adaptive_suite_autoattack_and_regime_bounds(dynamic_summary):
    summary = dynamic_summary
    assert summary["dynamic"] is True and summary["pin_signal"] is None and "curve" not in summary
    assert summary["attacks"] == ["pgd", "autoattack", "adaptive"]
    assert summary["checks"]["dynamic_attack_set"]["status"] == "pass"
    bounds = summary["regime_bounds"]
    assert bounds["attacks"] == ["pgd", "autoattack"]
    for regime, value in (("clean", 0.0), ("adversarial", 1.0)):
        pinned = bounds["pinned"][regime]
        assert pinned["pin_signal"] == value and set(pinned["robust_accuracy"]) == {"pgd", "autoattack"}
        assert 0 <= pinned["worst_case_accuracy"] <= pinned["clean_accuracy"] <= 1
        assert (Path(summary["out"]) / f"pinned-r{value:g}").is_dir()
    routed = bounds["adaptive_successes_routed"]
    assert set(routed) == {"clean", "adversarial"}
    successes = summary["details"]["adaptive"].get("successes", 0)
    assert sum(routed.values()) == pytest.approx(1.0 if successes else 0.0)
    on_disk = json.loads((Path(summary["out"]) / "summary.json").read_text())
    assert on_disk["regime_bounds"] == json.loads(json.dumps(bounds))


def test_opting_out_runs_only_the_asked_attacks_and_flags_the_summary(aw_run, data_dir, tmp_path):
    summary = evaluate_checkpoint(aw_run, attacks=["pgd"], data_dir=data_dir, out=tmp_path, dynamic_defaults=False,
                                  **FAST)
    assert summary["attacks"] == ["pgd"]
    check = summary["checks"]["dynamic_attack_set"]
    assert check["status"] == "flag" and "incomplete for a dynamic model" in check["detail"]
    assert "autoattack" in check["detail"] and "adaptive" in check["detail"]


def test_a_pinned_evaluation_is_static_and_records_its_signal_and_curve_point(aw_run, data_dir, tmp_path):
    summary = evaluate_checkpoint(aw_run, attacks=["pgd"], data_dir=data_dir, out=tmp_path, pin_signal=0.5, **FAST)
    assert summary["pin_signal"] == 0.5 and summary["dynamic"] is False
    assert summary["attacks"] == ["pgd"] and "regime_bounds" not in summary
    assert summary["curve"] == {"kind": "pin_signal", "value": 0.5, "label": f"{summary['run']} pinned r"}
    assert json.loads((tmp_path / "summary.json").read_text())["curve"]["value"] == 0.5


def test_pin_signal_errors_come_before_any_work(aw_run, small_cnn_run, data_dir, tmp_path):
    with pytest.raises(AwbenchError, match="needs a dynamic model"):
        evaluate_checkpoint(small_cnn_run, attacks=["pgd"], data_dir=data_dir, out=tmp_path / "a", pin_signal=0.5,
                            **FAST)
    with pytest.raises(AwbenchError, match=r"--pin-signal must lie in \[0, 1\]"):
        evaluate_checkpoint(aw_run, attacks=["pgd"], data_dir=data_dir, out=tmp_path / "b", pin_signal=2.0, **FAST)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_sweep_writes_one_evaluation_per_value_on_the_same_examples(aw_run, data_dir, tmp_path):
    summaries = sweep_signal(aw_run, values="1,0,0.5", attacks=["pgd"], out=tmp_path, data_dir=data_dir, **FAST)
    assert [s["pin_signal"] for s in summaries] == [0.0, 0.5, 1.0]
    curves = [s["curve"] for s in summaries]
    assert [c["value"] for c in curves] == [0.0, 0.5, 1.0]
    assert {c["kind"] for c in curves} == {"pin_signal"} and len({c["label"] for c in curves}) == 1
    frames = [pd.read_csv(tmp_path / f"r{value:g}" / "per_sample.csv") for value in (0, 0.5, 1)]
    assert all(frame["index"].tolist() == frames[0]["index"].tolist() for frame in frames)
    for value in (0, 0.5, 1):
        assert json.loads((tmp_path / f"r{value:g}" / "summary.json").read_text())["pin_signal"] == value


@pytest.mark.parametrize("text, message", [
    ("", "at least one"), (" , ", "at least one"), ("0,0.5,0", "repeats 0"), ("0,1.5", "must lie in"),
    ("0,a", "must be a number"),
])
def test_sweep_values_are_refused_when_empty_duplicated_or_out_of_range(text, message):
    with pytest.raises(AwbenchError, match=message):
        parse_values(text)


def test_sweep_values_parse():
    assert parse_values("0, 0.25,1") == [0.0, 0.25, 1.0] and parse_values(None) == [0.0, 0.25, 0.5, 0.75, 1.0]


CLI_BAD_INPUTS = {
    "pin-signal on a static model": ("small_cnn_run", ["eval", "--pin-signal", "0.5"], "needs a dynamic model"),
    "pin-signal above 1": ("aw_run", ["eval", "--pin-signal", "1.5"], "--pin-signal must lie in [0, 1]"),
    "sweep with duplicate values": ("aw_run", ["sweep-signal", "--values", "0,0.5,0.5"], "repeats 0.5"),
    "sweep with no values": ("aw_run", ["sweep-signal", "--values", ""], "at least one"),
    "sweep of a static model": ("small_cnn_run", ["sweep-signal", "--values", "0,1"], "needs a dynamic model"),
}


@pytest.mark.parametrize("case", list(CLI_BAD_INPUTS))
def test_cli_bad_pin_and_sweep_inputs_give_one_line(case, request, run_cli, data_dir, tmp_path):
    run_name, args, message = CLI_BAD_INPUTS[case]
    command, *options = args
    code, out, err = run_cli(command, request.getfixturevalue(run_name), "--data-dir", data_dir,
                             "--out", tmp_path / "out", *options)
    assert message in one_line_error(code, err) and out == ""
    assert not (tmp_path / "out").exists()


def test_cli_pinned_eval_and_opt_out(run_cli, aw_run, data_dir, tmp_path):
    common = ["--data-dir", data_dir, "--n-examples", "8", "--steps", "1", "--device", "cpu", "--json", "-a", "pgd"]
    code, out, _ = run_cli("eval", aw_run, "--pin-signal", "0.25", "--out", tmp_path / "pinned", *common)
    assert code == 0 and json.loads(out)["pin_signal"] == 0.25
    code, out, _ = run_cli("eval", aw_run, "--no-adaptive", "--out", tmp_path / "dyn", *common)
    assert code == 0 and json.loads(out)["checks"]["dynamic_attack_set"]["status"] == "flag"

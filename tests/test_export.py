"""awbench export EVAL_DIR --format robustbench: RobustBench's model_info fields from an evaluation."""

from __future__ import annotations

import json

import pytest

from awbench.errors import AwbenchError
from awbench.export import ROBUSTBENCH_FIELDS, export_evaluation

pytestmark = pytest.mark.fast  # no data set: synthetic tensors (see conftest)


def write_summary(folder, **changes):
    folder.mkdir(parents=True, exist_ok=True)
    summary = {"model": "resnet18", "dataset": "cifar10", "norm": "Linf", "eps": 8 / 255, "n_examples": 10000,
               "clean_accuracy": 0.8734, "robust_accuracy": {"pgd": 0.52, "autoattack": 0.48125},
               "worst_case_accuracy": 0.48125, "details": {"autoattack": {"settings": {"version": "standard"}}},
               "checks": {"deterministic": {"status": "pass", "detail": ""}}, **changes}
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder


def test_awbench_evaluation_exports_robustbench_fields(tmp_path):
    result = export_evaluation(write_summary(tmp_path / "eval"))
    written = json.loads(result.path.read_text())
    assert list(written) == list(ROBUSTBENCH_FIELDS)
    assert written["eps"] == "8/255" and written["clean_acc"] == "87.34" and written["autoattack_acc"] == "48.12"
    assert written["additional_data"] is False and written["number_forward_passes"] == 1
    assert written["architecture"] == "resnet18" and written["dataset"] == "cifar10"
    assert result.missing == ["link", "name", "authors", "venue", "reported"] and result.notes == []


def test_robustbench_model_card_fills_the_paper_fields(tmp_path):
    card = {"paper": "MMA Training", "link": "https://openreview.net/forum?id=HkeryxBtPB", "venue": "ICLR 2020",
            "architecture": "WideResNet-28-4", "additional_data": False}
    folder = write_summary(tmp_path / "eval", source={"kind": "robustbench", "model_card": card}, n_examples=200)
    result = export_evaluation(folder, out=tmp_path / "Ding2020MMA.json")
    written = json.loads((tmp_path / "Ding2020MMA.json").read_text())
    assert written["name"] == "MMA Training" and written["venue"] == "ICLR 2020"
    assert written["architecture"] == "WideResNet-28-4"
    assert result.missing == ["authors", "reported"]
    assert any("full test set" in note for note in result.notes)


def test_missing_autoattack_and_randomness_are_named(tmp_path):
    folder = write_summary(tmp_path / "eval", robust_accuracy={"pgd": 0.4}, eps=0.5, norm="L2",
                           checks={"deterministic": {"status": "flag", "detail": "differs"}},
                           source={"kind": "factory"})
    result = export_evaluation(folder)
    assert result.record["eps"] == "0.5"
    assert {"autoattack_acc", "number_forward_passes", "additional_data"} <= set(result.missing)
    assert any("did not run AutoAttack" in note for note in result.notes)


def test_bad_inputs_are_one_line_errors(tmp_path, run_cli):
    with pytest.raises(AwbenchError, match="no summary.json"):
        export_evaluation(tmp_path)
    code, _, err = run_cli("export", write_summary(tmp_path / "eval"), "--format", "csv")
    assert code != 0 and "unknown export format 'csv'" in err
    code, _, err = run_cli("export", tmp_path / "eval")
    assert code == 0 and "left null, for you to fill in: link, name, authors, venue, reported" in " ".join(err.split())


def test_zoo_list_published_filters(run_cli):
    code, _, err = run_cli("zoo", "list", "--published", "--dataset", "cifar10", "--threat", "L2")
    assert code == 0 and "Rebuffi2021Fixing_70_16_cutmix_extra" in err and "Carmon2019Unlabeled" not in err
    code, _, err = run_cli("zoo", "list", "--published", "--dataset", "mnist")
    assert code != 0 and "unknown dataset 'mnist'" in err


@pytest.mark.parametrize("settings", [{"version": "standard", "iterations": 10},
                                      {"version": "custom", "attacks": ["apgd-ce"]}])
def test_a_reduced_autoattack_is_not_exported_as_autoattack(tmp_path, settings):
    folder = write_summary(tmp_path / "eval", details={"autoattack": {"settings": settings}})
    result = export_evaluation(folder)
    assert result.record["autoattack_acc"] is None and "autoattack_acc" in result.missing
    assert any("reduced AutoAttack" in note and "48.12" in note for note in result.notes)


@pytest.mark.parametrize("changes", [
    {"checks": ["deterministic"]}, {"checks": {"deterministic": "pass"}}, {"checks": {"deterministic": None}},
    {"checks": {"deterministic": {"status": 1}}}, {"source": "robustbench"},
    {"source": {"model_card": [1]}}, {"robust_accuracy": [0.5]}, {"robust_accuracy": {"pgd": "high"}},
    {"details": {"autoattack": []}}, {"clean_accuracy": "0.9"}, {"n_examples": "many"},
])
def test_malformed_summaries_are_one_line_errors(tmp_path, run_cli, changes):
    folder = write_summary(tmp_path / "eval", **changes)
    code, _, err = run_cli("export", folder)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code != 0 and "Traceback" not in err and len(lines) == 1 and "not an awbench evaluation" in lines[0]

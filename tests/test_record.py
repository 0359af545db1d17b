"""The typed evaluation record: summary.json files written before it existed load, new ones round-trip, and a
damaged field is dropped with a warning (awbench.evaluation.record)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from awbench.evaluation import evaluate_checkpoint
from awbench.evaluation.record import SCHEMA_VERSION, EvaluationRecord, RecordError
from awbench.run_layout import SUMMARY

# Written by `awbench eval zoo:cifar10-aw-small-cnn-awnet -a pgd --no-adaptive --n-examples 50` on the code
# before the record existed (commit 864c0e5).
OLD_SUMMARY = Path(__file__).parent / "data" / "summary_v0_awnet.json"


def test_a_summary_written_before_the_record_loads_and_writes_back_the_same_keys_and_values():
    payload = json.loads(OLD_SUMMARY.read_text())
    warnings: list[str] = []
    record = EvaluationRecord.from_json(payload, warn=warnings.append)
    assert not warnings and record.schema_version == 0 and "schema_version" not in payload
    assert record.robust_accuracy == payload["robust_accuracy"] and record.n_examples == 50
    assert record.regime_bounds["attacks"] == ["pgd"]
    assert record.checks["dynamic_attack_set"]["status"] == "flag"  # --no-adaptive
    written = record.to_json()
    assert list(written) == [*payload, "schema_version"]  # same keys, same order
    assert {key: written[key] for key in payload} == payload


def test_a_new_summary_round_trips_and_keeps_the_old_keys(data_dir, tmp_path):
    summary = evaluate_checkpoint("zoo:cifar10-small-cnn-pgd-at", attacks=["fgsm"], n_examples=20,
                                  data_dir=data_dir, device="cpu", out=tmp_path, show_progress=False)
    on_disk = json.loads((tmp_path / SUMMARY).read_text())
    assert on_disk == summary and on_disk["schema_version"] == SCHEMA_VERSION
    assert EvaluationRecord.read(tmp_path).to_json() == on_disk
    old_keys = set(json.loads(OLD_SUMMARY.read_text())) - {"regime_bounds"}  # only a dynamic model has bounds
    assert set(on_disk) == old_keys | {"schema_version"}


@pytest.mark.parametrize(("field", "value", "read"), [
    ("clean_accuracy", 1.5, math.nan), ("worst_case_accuracy", "0.3", math.nan),
    *[("eps", value, math.nan) for value in (float("inf"), -0.1, 10**400, "8/255")],
    *[("n_examples", value, None) for value in (1e19, 10**30, float("inf"), float("nan"), -5, 0, 2.5, "100", True)],
    ("robust_accuracy", [0.5], {}), ("robust_accuracy", {"pgd": True}, {}),
])
def test_an_impossible_value_is_dropped_with_a_warning(field, value, read):
    payload = {**json.loads(OLD_SUMMARY.read_text()), field: value}
    warnings: list[str] = []
    record = EvaluationRecord.from_json(payload, source="x/summary.json", warn=warnings.append)
    loaded = getattr(record, field)
    assert (math.isnan(loaded) if isinstance(read, float) else loaded == read)
    assert len(warnings) == 1 and warnings[0].startswith("x/summary.json: ignored")


@pytest.mark.parametrize("checks", [["deterministic"], {"deterministic": "pass"}, {"deterministic": {"status": 1}}])
def test_an_unreadable_self_check_never_reads_as_a_pass(checks):
    warnings: list[str] = []
    record = EvaluationRecord.from_json({**json.loads(OLD_SUMMARY.read_text()), "checks": checks},
                                        warn=warnings.append)
    assert len(warnings) == 1 and [check["status"] for check in record.checks.values()] == ["unreadable"]


@pytest.mark.parametrize("payload", [[1, 2], {"model": "resnet18"}, {"robust_accuracy": {}}])
def test_what_is_not_a_summary_is_refused(payload):
    with pytest.raises(RecordError):
        EvaluationRecord.from_json(payload)


def test_an_unreadable_file_is_a_record_error(tmp_path):
    (tmp_path / SUMMARY).write_text("{not json")
    with pytest.raises(RecordError, match="not readable JSON"):
        EvaluationRecord.read(tmp_path)

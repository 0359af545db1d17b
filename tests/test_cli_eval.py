"""`awbench eval`: --json, the table, and one-line errors with a non-zero exit code for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import one_line_error, run_process

pytestmark = pytest.mark.threads(1)  # see conftest: one steady thread for evaluation tests

QUICK = ["--n-examples", "12", "--batch-size", "12", "--steps", "2", "--device", "cpu"]


def test_json_prints_only_the_summary(small_cnn_run, data_dir, tmp_path):
    done = run_process("eval", small_cnn_run, "--attack", "fgsm", "--attack", "pgd", "--data-dir", data_dir,
                       "--out", tmp_path, "--json", *QUICK)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert set(summary["robust_accuracy"]) == {"fgsm", "pgd"} and summary["n_examples"] == 12
    assert summary == json.loads((tmp_path / "summary.json").read_text())
    assert "Traceback" not in done.stderr


def test_table_goes_to_stderr(small_cnn_run, data_dir, tmp_path, run_cli):
    code, out, err = run_cli("eval", small_cnn_run, "-a", "clean", "-a", "fgsm",
                              "--data-dir", data_dir, "--out", tmp_path, *QUICK)
    assert code == 0, err
    assert out == ""
    assert "worst case" in err and "self-checks" in err and "budget:fgsm" in err


def test_a_failed_self_check_exits_non_zero(small_cnn_run, data_dir, tmp_path, run_cli, monkeypatch):
    monkeypatch.setattr("awbench.evaluation.checks.TOLERANCE", -1.0)  # every budget check must now fail
    code, _, err = run_cli("eval", small_cnn_run, "-a", "fgsm", "--data-dir", data_dir,
                            "--out", tmp_path, *QUICK)
    assert code == 1 and "error: self-check failed: " in err and "budget:fgsm" in err.splitlines()[-1]


@pytest.fixture()
def corrupt_checkpoint(tmp_path, small_cnn_run) -> Path:
    """A checkpoint cut in half, as a killed copy leaves it."""
    path = tmp_path / "corrupt.pt"
    data = (small_cnn_run / "best.pt").read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


BAD_INPUTS = {
    "unknown attack": (["-a", "pdg"], "unknown attack 'pdg'"),
    "eps above 1": (["--eps", "1.5"], "--eps must lie in [0, 1]"),
    "eps negative": (["--eps", "-0.1"], "--eps must lie in [0, 1]"),
    "eps not a number": (["--eps", "eight"], "is not a number"),
    "negative n-examples": (["--n-examples", "-5"], "--n-examples must be at least 1"),
    "unknown norm": (["--norm", "L3"], "unknown norm 'L3'"),
    "cw-l2 under Linf": (["-a", "cw-l2"], "use it with --norm L2"),
    "adaptive on a static model": (["-a", "adaptive"], "needs a dynamic model"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_options_give_one_line(case, small_cnn_run, data_dir, tmp_path, run_cli):
    args, message = BAD_INPUTS[case]
    code, out, err = run_cli("eval", small_cnn_run, "--data-dir", data_dir,
                              "--out", tmp_path / "out", *args)
    assert message in one_line_error(code, err) and out == ""
    assert not (tmp_path / "out").exists()  # refused before any work


def test_missing_and_corrupt_checkpoints_give_one_line(tmp_path, corrupt_checkpoint, small_cnn_run, run_cli):
    junk = []
    for index, content in enumerate((b"hello", b"abc", b'{"a": 1}')):  # the unpickler raises KeyError, ...
        junk.append(tmp_path / f"junk{index}.pt")
        junk[-1].write_bytes(content)
    weird = tmp_path / "weird.pt"  # a real awbench checkpoint whose metadata has the wrong types
    payload = torch.load(small_cnn_run / "best.pt", weights_only=True)
    payload["metadata"]["num_classes"] = "ten"
    torch.save(payload, weird)
    cases = [(tmp_path / "nowhere.pt", "no checkpoint at"), (corrupt_checkpoint, "cannot read"),
             (tmp_path, "without best.pt or checkpoint.pt"), *[(path, "cannot read") for path in junk],
             (weird, "metadata cannot describe a model")]
    for path, message in cases:
        code, _, err = run_cli("eval", path)
        assert message in one_line_error(code, err)


def test_data_not_found_gives_one_line(small_cnn_run, tmp_path, run_cli, monkeypatch):
    monkeypatch.delenv("AWBENCH_DATA", raising=False)
    monkeypatch.setattr("awbench.data.datasets.DEFAULT_CACHE", tmp_path / "cache")
    (tmp_path / "empty").mkdir()  # a folder without the data (a folder that is not there is its own error)
    code, _, err = run_cli("eval", small_cnn_run, "--data-dir", tmp_path / "empty")
    assert one_line_error(code, err).startswith("error: cifar10 (test) not found")


def test_errors_in_a_real_process_have_no_traceback(tmp_path):
    done = run_process("eval", tmp_path / "missing.pt", "--attack", "pgd")
    assert done.returncode != 0
    assert done.stderr.strip().startswith("error: no checkpoint at") and "Traceback" not in done.stderr

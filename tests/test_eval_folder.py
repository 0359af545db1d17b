"""Evaluation folders: one writer per --out, resumed units verified by checksum, --n-examples above the test
set said, and output files that follow the umask."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from awbench.evaluation import evaluate_checkpoint
from awbench.evaluation.state import EvaluationState
from awbench.run_layout import EVALUATION_STATE as STATE_FILE

pytestmark = pytest.mark.threads(1)  # see conftest: one steady thread for evaluation tests

REPO = Path(__file__).resolve().parents[1]
FAST = {"n_examples": 40, "batch_size": 16, "seed": 0, "device": "cpu", "show_progress": False, "steps": 3}

# A real evaluation in a child process, held once it is under way (its attacks wait for a line on stdin).
PAUSED_EVALUATION = textwrap.dedent("""
    import sys
    from awbench.evaluation import api

    def paused(*args, **kwargs):
        print("evaluating", flush=True)
        sys.stdin.readline()
        raise SystemExit(3)

    api.evaluate_model = paused
    api.evaluate_checkpoint(sys.argv[1], attacks=["fgsm"], n_examples=8, data_dir=sys.argv[3], out=sys.argv[2],
                            device="cpu", show_progress=False)
""")


def test_a_second_evaluation_into_the_same_out_is_refused(run_cli, small_cnn_run, data_dir, tmp_path):
    out = tmp_path / "eval"
    first = subprocess.Popen([sys.executable, "-c", PAUSED_EVALUATION, str(small_cnn_run), str(out), str(data_dir)],
                             cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        assert first.stdout.readline().strip() == "evaluating", first.stderr.read()
        code, _, err = run_cli("eval", small_cnn_run, "--attack", "clean", "--n-examples", "8", "--out", out,
                               "--data-dir", data_dir, "--device", "cpu")
        lines = [line for line in err.strip().splitlines() if line.strip()]
        assert code != 0 and len(lines) == 1 and "Traceback" not in err, err
        assert lines[0].startswith("error: ") and f"pid {first.pid}" in lines[0] and "evaluation" in lines[0]
        assert not (out / "summary.json").exists()
    finally:
        first.communicate("\n", timeout=120)
    assert first.returncode == 3
    summary = evaluate_checkpoint(small_cnn_run, attacks=["clean"], data_dir=data_dir, out=out,
                                  **{**FAST, "n_examples": 8})  # the lock went with the first process
    assert summary["n_examples"] == 8 and not (out / ".awbench.lock").exists()


def test_a_tampered_unit_is_recomputed_not_trusted(small_cnn_run, data_dir, tmp_path, capsys):
    out = tmp_path / "eval"
    first = evaluate_checkpoint(small_cnn_run, attacks=["fgsm"], data_dir=data_dir, out=out, **FAST)
    state = json.loads((out / STATE_FILE).read_text())
    unit = state["attacks"]["fgsm"]["units"]["0"]
    original = list(unit["survived"])
    unit["survived"] = [1 - flag for flag in original]  # every verdict of the unit flipped
    (out / STATE_FILE).write_text(json.dumps(state))
    capsys.readouterr()
    again = evaluate_checkpoint(small_cnn_run, attacks=["fgsm"], data_dir=data_dir, out=out, **FAST)
    assert again["robust_accuracy"] == first["robust_accuracy"]
    restored = json.loads((out / STATE_FILE).read_text())["attacks"]["fgsm"]["units"]["0"]
    assert restored["survived"] == original  # recomputed and stored again
    assert "checksum" in capsys.readouterr().err


def test_stored_units_carry_a_checksum_that_is_verified(tmp_path):
    state = EvaluationState.open(tmp_path, {"model": "m"})
    record = {"positions": [0, 1], "survived": [1, 0], "budget": {}, "extras": {}, "flags": [], "seconds": 0.5}
    state.store("pgd", {"eps": 0.1}, 0, record)
    reopened = EvaluationState.open(tmp_path, {"model": "m"})
    assert reopened.unit("pgd", {"eps": 0.1}, 0, [0, 1]) == record
    stored = json.loads((tmp_path / STATE_FILE).read_text())
    stored["attacks"]["pgd"]["units"]["0"]["seconds"] = 0.25
    (tmp_path / STATE_FILE).write_text(json.dumps(stored))
    assert EvaluationState.open(tmp_path, {"model": "m"}).unit("pgd", {"eps": 0.1}, 0, [0, 1]) is None
    del stored["attacks"]["pgd"]["units"]["0"]["sha256"]  # a unit without its checksum is not trusted either
    (tmp_path / STATE_FILE).write_text(json.dumps(stored))
    assert EvaluationState.open(tmp_path, {"model": "m"}).unit("pgd", {"eps": 0.1}, 0, [0, 1]) is None


def _small_test_set(folder: Path, cifar_test, per_class: int) -> Path:
    """A data folder whose CIFAR-10 test split holds `per_class` real images of each class."""
    labels = cifar_test.labels.numpy()
    picked = np.concatenate([np.flatnonzero(labels == c)[:per_class] for c in range(10)])
    folder.mkdir()
    np.savez(folder / "cifar10_test.npz", x=cifar_test.images[picked].permute(0, 2, 3, 1).numpy(), y=labels[picked])
    return folder


def test_more_examples_than_the_test_set_is_said_not_silently_capped(small_cnn_run, cifar_test, tmp_path, capsys):
    data = _small_test_set(tmp_path / "data", cifar_test, per_class=3)
    summary = evaluate_checkpoint(small_cnn_run, attacks=["clean"], data_dir=data, out=tmp_path / "eval",
                                  **{**FAST, "n_examples": 100})
    assert summary["n_examples"] == 30 and summary["n_examples_requested"] == 100
    written = json.loads((tmp_path / "eval" / "summary.json").read_text())
    assert written["n_examples_requested"] == 100
    err = capsys.readouterr().err
    assert "--n-examples 100" in err and "30" in err
    exact = evaluate_checkpoint(small_cnn_run, attacks=["clean"], data_dir=data, out=tmp_path / "exact",
                                **{**FAST, "n_examples": 30})
    assert "n_examples_requested" not in exact


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600)])
def test_evaluation_outputs_follow_the_umask(small_cnn_run, data_dir, tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        evaluate_checkpoint(small_cnn_run, attacks=["clean"], data_dir=data_dir, out=tmp_path / "eval",
                            **{**FAST, "n_examples": 8})
    finally:
        os.umask(previous)
    for name in ("summary.json", "per_sample.csv"):
        assert stat.S_IMODE((tmp_path / "eval" / name).stat().st_mode) == mode

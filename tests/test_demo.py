"""`awbench demo`: the quick demo runs for real and leaves the table and the plot; a rerun skips finished work;
missing data (and no way to download it) is one line and a non-zero exit.

The quick demo trains four models and attacks them on real CIFAR-10 (about a minute on 2 busy CPU cores), once
per session; the other tests reuse its folder.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import run_process

from awbench.demo import RUNS, DemoPlan
from awbench.errors import AwbenchError
from awbench.training.run_folder import RunFolder

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EXPECTED_RUNS = {f"{model}-{method}" for model, method in RUNS}


@pytest.fixture(scope="module")
def quick_demo(tmp_path_factory, data_dir) -> tuple[Path, list[str], float]:
    out = tmp_path_factory.mktemp("demo") / "quick"
    command = ["demo", "--quick", "--out", str(out), "--data-dir", str(data_dir), "--device", "cpu"]
    began = time.perf_counter()
    done = run_process(*command)
    seconds = time.perf_counter() - began
    assert done.returncode == 0, done.stderr[-3000:]
    return out, command, seconds


def test_plans_budgets():
    quick, default = DemoPlan.for_mode(quick=True), DemoPlan.for_mode(quick=False)
    assert quick.mode == "quick" and default.mode == "default"
    assert quick.train_images * quick.epochs < default.train_images * default.epochs
    assert quick.eval_images < default.eval_images
    # A reduced AutoAttack must say so, in words that reach the output.
    for plan in (quick, default):
        if plan.autoattack:
            assert "REDUCED" in plan.describe_autoattack()
            assert plan.describe_autoattack() in plan.describe()
    assert "REDUCED" not in DemoPlan(**{**quick.__dict__, "autoattack": {}}).describe_autoattack()


def test_quick_demo_writes_table_and_plot(quick_demo):
    out, _, seconds = quick_demo
    table = pd.read_csv(out / "comparison.csv")
    assert len(table) == 4
    assert set(table["run"]) == EXPECTED_RUNS
    for column in ("clean_accuracy", "robust_pgd", "robust_autoattack", "worst_case_accuracy"):
        assert table[column].notna().all(), column
        assert table[column].between(0, 1).all(), column
    aw_net = table[table["method"] == "awnet"]
    assert len(aw_net) == 1 and aw_net["robust_adaptive"].notna().all()  # the AW-Net met the adaptive attack
    assert (out / "comparison.md").is_file()
    png = (out / "pareto.png").read_bytes()
    assert png.startswith(PNG_SIGNATURE) and len(png) > 1000
    manifest = json.loads((out / "demo.json").read_text())
    assert manifest["plan"]["mode"] == "quick" and "REDUCED" in manifest["autoattack"]
    for name in EXPECTED_RUNS:
        assert (out / "runs" / name / "checkpoint.pt").is_file()
        assert (out / "runs" / name / "eval" / "summary.json").is_file()
    print(f"quick demo: {seconds:.0f}s wall (subprocess, imports included)")


def test_rerun_skips_finished_work(quick_demo):
    out, command, _ = quick_demo
    finished = sorted(out.glob("runs/*/checkpoint.pt")) + sorted(out.glob("runs/*/eval/summary.json"))
    stamps = {path: path.stat().st_mtime_ns for path in finished}
    began = time.perf_counter()
    done = run_process(*command)
    seconds = time.perf_counter() - began
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr.count("skip:") == 1 + 2 * len(RUNS)  # data, every training, every evaluation
    assert {path: path.stat().st_mtime_ns for path in finished} == stamps  # nothing retrained or re-attacked
    assert "pareto.png" in done.stderr and "comparison.md" in done.stderr
    assert seconds < 45, f"a rerun with nothing to do took {seconds:.0f}s"


def test_unfinished_evaluation_is_redone_alone(quick_demo, tmp_path):
    """A demo killed after training resumes at the evaluation: only the missing summary is produced."""
    out, command, _ = quick_demo
    summary = out / "runs" / "small-cnn-trades" / "eval" / "summary.json"
    summary.unlink()
    done = run_process(*command)
    assert done.returncode == 0, done.stderr[-3000:]
    assert summary.is_file()
    assert done.stderr.count("skip:") == 2 * len(RUNS)


def test_other_plan_in_same_folder_is_refused(quick_demo):
    out, _, _ = quick_demo
    done = run_process("demo", "--out", str(out), "--seed", "1", "--quick")
    assert done.returncode != 0
    assert done.stderr.strip().count("\n") == 0 and "other settings" in done.stderr
    assert "Traceback" not in done.stderr


def test_missing_data_is_one_line(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {"HOME": str(tmp_path / "home")}
    began = time.perf_counter()
    done = run_process("demo", "--quick", "--out", str(tmp_path / "out"), "--data-dir", str(empty), env=env,
                       timeout=120)
    assert done.returncode != 0
    assert time.perf_counter() - began < 60
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and str(empty) in errors[0] and "awbench data prepare" in errors[0]
    assert "Traceback" not in done.stderr


def test_a_failed_demo_does_not_lock_its_folder(tmp_path):
    """A default demo that failed (no data in --data-dir) left demo.json, and a following --quick demo into the
    same folder was refused ("holds a demo with other settings"). A folder with no finished step is free."""
    import awbench.demo as demo
    from awbench.errors import DataNotFoundError

    out, empty = tmp_path / "awbench-demo", tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataNotFoundError):
        demo.run_demo(data_dir=empty, out=out, device="cpu", show_progress=False)
    quick = DemoPlan.for_mode(quick=True)
    demo._claim_folder(out, quick, 0)  # used to raise AwbenchError
    assert json.loads((out / "demo.json").read_text())["plan"]["mode"] == "quick"
    (out / "runs" / "x").mkdir(parents=True)
    (out / "runs" / "x" / "checkpoint.pt").write_bytes(b"a finished epoch")  # real work: now it is refused
    with pytest.raises(AwbenchError, match="other settings"):
        demo._claim_folder(out, DemoPlan.for_mode(quick=False), 0)


def test_killed_training_resumes(tmp_path, data_dir, monkeypatch):
    """A run killed after epoch 1 of 2 (checkpoint.pt at epoch 1) continues from it instead of starting over."""
    import awbench.demo as demo
    from awbench.training import train

    plan = DemoPlan(mode="tiny", train_images=64, val_images=0, epochs=2, batch_size=32, lr=0.05,
                    schedule="constant", train_steps=1, eval_images=20, eval_steps=2,
                    autoattack={"version": "custom", "aa_attacks": ["apgd-ce"], "aa_iterations": 2})
    monkeypatch.setattr(demo.DemoPlan, "for_mode", classmethod(lambda cls, quick=False: plan))
    monkeypatch.setattr(demo, "RUNS", (("small-cnn", "standard"),))
    out = tmp_path / "demo"
    demo._claim_folder(out, plan, 0)
    data = demo._prepare_data(plan, out / "data", data_dir, 0, demo._Steps(total=1))
    killed = demo._train_config(plan, "small-cnn", "standard", data, out / "runs", "small-cnn-standard", 0, "cpu")
    killed.epochs = 1  # what a demo killed during epoch 2 leaves: checkpoint.pt after epoch 1
    train(killed, show_progress=False)

    result = demo.run_demo(data_dir=data_dir, out=out, device="cpu", show_progress=False)
    log = pd.read_csv(out / "runs" / "small-cnn-standard" / "train_log.csv")
    assert log["epoch"].tolist() == [1, 2]
    assert RunFolder(out / "runs" / "small-cnn-standard").epochs_done() == 2
    assert "data" in result.skipped and "train small-cnn-standard" not in result.skipped
    assert len(result.comparison.frame) == 1 and result.plot is not None

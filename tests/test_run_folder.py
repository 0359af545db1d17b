"""Run folders: one writer (a second `train` of the same name is refused), plain names only, no empty folders
left by a failed start, and a config.json of wrong types refused on one line."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import one_line_error

from awbench.errors import AwbenchError
from awbench.locks import LOCK_FILE
from awbench.training import TrainConfig, train
from awbench.training.config import check_run_name

REPO = Path(__file__).resolve().parents[1]
# Options that make a run that does start finish in seconds (so that the old code fails these tests quickly).
QUICK = ["--method", "standard", "--epochs", "1", "--subset", "32", "--val-size", "0", "--batch-size", "32",
         "--device", "cpu"]


# A real `awbench train` in a child process, held right after it claimed its folder (its data loading
# waits for a line on stdin), so that the test can start a second one meanwhile.
PAUSED_TRAINING = textwrap.dedent("""
    import sys
    from awbench.training import TrainConfig, loop

    def paused_split(config):
        print("training", flush=True)
        sys.stdin.readline()
        raise SystemExit(3)

    loop.split_data = paused_split
    loop.train(TrainConfig(method="standard", epochs=1, subset=32, val_size=0, data_dir=sys.argv[2],
                           out=sys.argv[1], name="same", device="cpu"), show_progress=False)
""")


def test_a_second_train_of_the_same_name_is_refused_while_the_first_runs(run_cli, tmp_path, data_dir):
    first = subprocess.Popen([sys.executable, "-c", PAUSED_TRAINING, str(tmp_path), str(data_dir)], cwd=REPO,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert first.stdout.readline().strip() == "training", first.stderr.read()
        line = one_line_error(*run_cli("train", "cifar10", "--name", "same", "--out", tmp_path,
                                        "--data-dir", data_dir, *QUICK)[::2])
        assert f"pid {first.pid}" in line and "training" in line and "in use" in line
        assert (tmp_path / "same").is_dir() and not (tmp_path / "same" / "checkpoint.pt").exists()
        assert {p.name for p in (tmp_path / "same").iterdir()} == {LOCK_FILE}
    finally:
        first.communicate("\n", timeout=120)
    assert first.returncode == 3
    # The first run failed before any epoch: it removed the folder it had made, lock included.
    assert not (tmp_path / "same").exists()


def test_the_run_folder_lock_is_released_when_the_run_ends(tmp_path, data_dir):
    run = train(TrainConfig(method="standard", epochs=1, subset=32, val_size=0, batch_size=32,
                            data_dir=str(data_dir), out=str(tmp_path), name="run", device="cpu"),
                show_progress=False)
    assert not (run / LOCK_FILE).exists()


@pytest.mark.parametrize("name", ["../escaped", "/abs/path", "..", ".", "a/b", "", "a\\b"])
def test_a_run_name_must_be_one_plain_folder_name(run_cli, tmp_path, data_dir, name):
    out = tmp_path / "out"
    out.mkdir()
    line = one_line_error(*run_cli("train", "cifar10", "--name", name, "--out", out, "--data-dir", data_dir,
                                    *QUICK)[::2])
    assert "--name" in line and "plain folder name" in line
    assert list(out.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("name", ["run-1", "cifar10.small_cnn", "..x", "a b"])
def test_plain_names_are_accepted(name):
    assert check_run_name(name) == name


def test_a_teacher_that_fails_to_load_leaves_no_run_folder(tmp_path, data_dir):
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    config = TrainConfig(model="aw-small-cnn", method="awnet", epochs=1, subset=32, val_size=0,
                         clean_teacher=str(tmp_path / "junk.pt"), robust_teacher=str(tmp_path / "junk.pt"),
                         data_dir=str(data_dir), out=str(tmp_path / "runs"), name="student", device="cpu")
    with pytest.raises(AwbenchError, match="junk.pt"):
        train(config, show_progress=False)
    assert not (tmp_path / "runs" / "student").exists()


def test_a_failed_start_keeps_a_folder_it_did_not_create(tmp_path, data_dir):
    existing = tmp_path / "runs" / "student"
    existing.mkdir(parents=True)
    (existing / "notes.txt").write_text("mine")
    config = TrainConfig(model="aw-small-cnn", method="awnet", epochs=1, subset=32, val_size=0,
                         clean_teacher=str(tmp_path / "none.pt"), robust_teacher=str(tmp_path / "none.pt"),
                         data_dir=str(data_dir), out=str(tmp_path / "runs"), name="student", device="cpu")
    with pytest.raises(AwbenchError):
        train(config, show_progress=False)
    assert sorted(p.name for p in existing.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("field,value", [
    ("epochs", "ten"), ("epochs", 2.5), ("batch_size", True), ("lr", "fast"), ("subset", [1]),
    ("augment", "yes"), ("name", 7), ("eps", None), ("seed", {"a": 1}), ("steps", None),
    ("lr", 10**400), ("eps", -(10**400)),  # ints too large for a float (an OverflowError before)
])
def test_resume_with_a_config_of_wrong_types_is_one_line(run_cli, tmp_path, field, value):
    run = tmp_path / "run"
    run.mkdir()
    config = TrainConfig(out=str(tmp_path), name="run").to_dict()
    (run / "config.json").write_text(json.dumps({**config, field: value}))
    line = one_line_error(*run_cli("train", "--resume", run, "--device", "cpu")[::2])
    assert f"'{field}'" in line


def test_resume_with_a_config_that_is_not_utf8_is_one_line(run_cli, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_bytes(b'{"lr": "\xff\xfe"}')
    assert "not UTF-8" in one_line_error(*run_cli("train", "--resume", run)[::2])


@pytest.mark.parametrize("reference", ["{trap}:build", "trap_module_xyz:build", "tv:resnet18"])
def test_resume_never_runs_code_named_in_config_json(run_cli, tmp_path, data_dir, monkeypatch, reference):
    """config.json is data: a factory named there as a teacher must not be imported by `train --resume`."""
    marker = tmp_path / "code-ran"
    trap = tmp_path / "trap.py"
    trap.write_text(f"open({str(marker)!r}, 'w').write('ran')\nimport torch\ndef build():\n"
                    "    return torch.nn.Linear(3, 10)\n")
    (tmp_path / "trap_module_xyz.py").write_text(trap.read_text())
    monkeypatch.chdir(tmp_path)  # a dotted module is imported from the working folder
    run = tmp_path / "runs" / "student"
    run.mkdir(parents=True)
    (run / "checkpoint.pt").write_bytes(b"a run that saved an epoch")
    teacher = reference.format(trap=trap)
    config = TrainConfig(model="aw-small-cnn", method="awnet", epochs=2, subset=32, val_size=0, device="cpu",
                         data_dir=str(data_dir), out=str(tmp_path / "runs"), name="student",
                         clean_teacher=teacher, robust_teacher=teacher).to_dict()
    (run / "config.json").write_text(json.dumps(config))
    line = one_line_error(*run_cli("train", "--resume", run)[::2])
    assert "teacher" in line and not marker.exists()


def test_resume_with_a_config_that_is_not_an_object_is_one_line(run_cli, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("[1, 2]")
    one_line_error(*run_cli("train", "--resume", run)[::2])


@pytest.mark.parametrize("interrupted_in_epoch", [1, 2])
def test_an_interrupted_run_releases_its_lock_and_keeps_only_finished_work(tmp_path, data_dir, monkeypatch,
                                                                          interrupted_in_epoch):
    from awbench.training.run_folder import RunFolder

    original = RunFolder.save_epoch

    def interrupted(self, *args, **kwargs):
        if args[5]["epoch"] == interrupted_in_epoch:
            raise KeyboardInterrupt
        original(self, *args, **kwargs)

    monkeypatch.setattr(RunFolder, "save_epoch", interrupted)
    config = TrainConfig(method="standard", epochs=2, subset=32, val_size=0, batch_size=32, data_dir=str(data_dir),
                         out=str(tmp_path), name="run", device="cpu")
    with pytest.raises(KeyboardInterrupt):
        train(config, show_progress=False)
    run = tmp_path / "run"
    if interrupted_in_epoch == 1:  # nothing finished: the folder it made is gone
        assert not run.exists()
    else:  # epoch 1 is kept, and the folder is free for --resume (in this very process, too)
        assert (run / "checkpoint.pt").is_file() and not (run / LOCK_FILE).exists()
        monkeypatch.setattr(RunFolder, "save_epoch", original)
        train(TrainConfig.from_dict({**config.to_dict(), "name": "run"}), resume=True, show_progress=False)


def test_resuming_a_run_without_checkpoint_is_refused_and_leaves_no_folder(tmp_path, data_dir):
    config = TrainConfig(epochs=1, subset=32, val_size=0, data_dir=str(data_dir), out=str(tmp_path / "runs"),
                         name="never-ran", device="cpu")
    with pytest.raises(AwbenchError, match="cannot resume: .*checkpoint.pt does not exist"):
        train(config, resume=True, show_progress=False)
    assert not (tmp_path / "runs" / "never-ran").exists()

"""What a newcomer meets in the first hour: help that keeps its text and examples, fast to show; names
mistyped get a suggestion; Ctrl-C says what to do; every result records which data it used."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from awbench.errors import UnknownNameError


def test_help_keeps_literal_brackets(run_cli):
    code, out, _ = run_cli("train", "--help")
    assert code == 0
    flat = " ".join(out.split())
    assert "Folder with the data [env: AWBENCH_DATA]." in flat  # rich markup used to print "Folder with the data ."
    assert "Run name [default: DATASET-MODEL-METHOD]." in flat


@pytest.mark.parametrize("command,example", [
    ([], "awbench train cifar10 --model small-cnn --method pgd-at --epochs 1 --subset 2000"),
    (["eval"], "awbench eval runs/x/best.pt -a fgsm -a pgd -a cw -a autoattack --eps 8/255 --n-examples 500 "
               "--cascade"),
])
def test_help_examples_are_printed_whole(run_cli, command, example):
    code, out, _ = run_cli(*command, "--help")
    assert code == 0
    assert example in out.splitlines()[[example in line for line in out.splitlines()].index(True)]


def test_top_level_example_names_the_default_run_folder(run_cli):
    from awbench.training.config import TrainConfig
    from awbench.training.run_folder import default_run_name

    _, out, _ = run_cli("--help")
    assert f"awbench eval runs/{default_run_name(TrainConfig(method='pgd-at'))} " in out


def test_help_imports_no_heavy_library():
    """--help must not wait for torch, pandas or matplotlib (seconds on a busy machine); the time itself is
    measured in docs/results/fresh.md, not asserted."""
    code = ("import sys\nfrom awbench.cli import _register_commands\n_register_commands()\n"
            "print(sorted(m for m in ('torch', 'pandas', 'matplotlib', 'numpy') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("args,suggestion", [
    (["evl", "x"], "Did you mean 'eval'?"),
    (["zoo", "lst"], "Did you mean 'list'?"),
    (["train", "cifar10", "--method", "pgd_at", "--epochs", "1"], "(did you mean 'pgd-at'?)"),
    (["train", "cifar-10", "--epochs", "1"], "(did you mean 'cifar10'?)"),
    (["train", "cifar10", "--model", "smal-cnn", "--epochs", "1"], "(did you mean 'small-cnn'?)"),
    (["eval", "zoo:cifar10-small-cnn-standard", "--attack", "pdg"], "(did you mean 'pgd'?)"),
])
def test_unknown_names_get_a_suggestion(run_cli, tmp_path, monkeypatch, args, suggestion):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(*args)
    assert code != 0 and len(err.strip().splitlines()) == 1 and suggestion in err, err


def test_no_suggestion_when_nothing_is_close():
    with pytest.raises(UnknownNameError) as info:
        raise UnknownNameError("attack", "imagenet-c", ["pgd", "fgsm", "cw"])
    assert "did you mean" not in str(info.value)


def _tiny_config(tmp_path, data_dir, epochs=2):
    from awbench.training import TrainConfig

    return TrainConfig(model="small-cnn", method="standard", epochs=epochs, subset=64, batch_size=32, val_size=0,
                       data_dir=str(data_dir), out=str(tmp_path), name="tiny", device="cpu")


def test_interrupt_before_the_first_epoch_says_start_again(tmp_path, data_dir, monkeypatch, capsys):
    """Ctrl-C in epoch 1 used to advise `--resume`, which then failed: checkpoint.pt did not exist yet."""
    import awbench.training.loop as loop

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
        yield

    monkeypatch.setattr(loop, "iterate_batches", interrupted)
    with pytest.raises(KeyboardInterrupt):
        loop.train(_tiny_config(tmp_path, data_dir), show_progress=False)
    err = " ".join(capsys.readouterr().err.split())
    assert "start again" in err and "not --resume" in err and "continue with awbench train --resume" not in err
    assert not (tmp_path / "tiny" / "checkpoint.pt").exists()


def test_interrupt_after_an_epoch_says_resume_and_resume_works(tmp_path, data_dir, monkeypatch, capsys):
    import awbench.training.loop as loop

    real, calls = loop.iterate_batches, []

    def interrupted_in_epoch_two(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        yield from real(*args, **kwargs)

    monkeypatch.setattr(loop, "iterate_batches", interrupted_in_epoch_two)
    with pytest.raises(KeyboardInterrupt):
        loop.train(_tiny_config(tmp_path, data_dir), show_progress=False)
    err = " ".join(capsys.readouterr().err.split())
    assert f"continue with awbench train --resume {tmp_path / 'tiny'}" in err
    monkeypatch.setattr(loop, "iterate_batches", real)
    loop.train(_tiny_config(tmp_path, data_dir), resume=True, show_progress=False)  # the advice works


def test_training_and_evaluation_record_the_data_they_used(standard_run, data_dir, tmp_path):
    """issue 10 item 8: config.json and summary.json say which files (path, size, sha256) the numbers used."""
    from awbench.data.embedded import file_sha256
    from awbench.evaluation import evaluate_checkpoint

    record = json.loads((standard_run / "config.json").read_text())["data"]
    train_file = data_dir / "cifar10_train.npz"
    assert record["split"] == "train" and record["images"] == 1000
    assert record["files"] == [{"path": str(train_file), "bytes": train_file.stat().st_size,
                                "sha256": file_sha256(train_file)}]
    summary = evaluate_checkpoint(standard_run / "checkpoint.pt", attacks=["clean"], n_examples=20, data_dir=data_dir,
                                  device="cpu", out=tmp_path / "eval", show_progress=False)
    written = json.loads((tmp_path / "eval" / "summary.json").read_text())
    assert written["data"] == summary["data"]
    assert summary["data"]["split"] == "test" and summary["data"]["images"] == 20
    assert summary["data"]["files"][0]["path"] == str(data_dir / "cifar10_test.npz")


def test_training_prints_its_plan_and_a_measured_estimate(tmp_path, data_dir, capsys):
    from awbench.training import train

    train(_tiny_config(tmp_path, data_dir, epochs=1), show_progress=True)
    err = " ".join(capsys.readouterr().err.split())
    for needle in ("model small-cnn", "method standard (no attack inside)", "cifar10 train, 64 images",
                   "1 epoch(s) x 2 batches of 32", "device cpu", "time about", "measured:"):
        assert needle in err, needle


def test_a_run_of_hours_on_a_cpu_is_put_to_the_person_first(tmp_path, data_dir, monkeypatch):
    import awbench.plans as plans
    from awbench.errors import AwbenchError
    from awbench.training import train

    monkeypatch.setattr(plans, "LONG_RUN_S", 0.0)  # every run is "long"
    asked = []
    with pytest.raises(AwbenchError, match=r"not started: this run takes about .* --subset \d+ --epochs \d"):
        train(_tiny_config(tmp_path, data_dir), show_progress=True, confirm=lambda m: asked.append(m) or False)
    assert len(asked) == 1 and not (tmp_path / "tiny").exists()  # no empty run folder left behind
    run = train(_tiny_config(tmp_path, data_dir, epochs=1), show_progress=True, confirm=lambda m: True)
    assert (run / "checkpoint.pt").is_file()


def test_evaluation_prints_its_plan_with_eps_in_255ths(standard_run, data_dir, tmp_path, capsys):
    from awbench.evaluation import evaluate_checkpoint, print_summary

    summary = evaluate_checkpoint(standard_run / "checkpoint.pt", attacks=["pgd"], n_examples=20, steps=2,
                                  data_dir=data_dir, device="cpu", out=tmp_path, show_progress=True)
    print_summary(summary)
    err = " ".join(capsys.readouterr().err.split())
    for needle in ("examples 20 (seeded, class-balanced)", "attacks clean, pgd (2 steps)", "budget Linf eps 8/255",
                   "cifar10 test, 500 images", "eps=8/255"):
        assert needle in err, needle
    assert "eps=0.031" not in err  # the header used to print eps=0.031373


def test_format_eps():
    from awbench.console import format_eps

    assert format_eps(8 / 255, "Linf") == "8/255" and format_eps(0.5, "L2") == "0.5"
    assert format_eps(0.03, "Linf") == "0.03" and format_eps(None, "Linf") == "?"


def test_evaluation_plan_names_the_adaptive_attack_an_aw_net_gets(data_dir, tmp_path, capsys):
    from awbench.evaluation import evaluate_checkpoint

    evaluate_checkpoint("zoo:cifar10-aw-small-cnn-awnet", attacks=["pgd"], n_examples=10, steps=1, data_dir=data_dir,
                        device="cpu", out=tmp_path, show_progress=True)
    err = " ".join(capsys.readouterr().err.split())
    assert ("attacks clean, pgd (1 step), autoattack (standard) (added: an AW-Net), adaptive (1 step) (added: an "
            "AW-Net), then pgd + autoattack on the network pinned to r = 0 and r = 1 (per-regime bounds)") in err


def test_evaluation_plan_says_no_adaptive_adds_nothing(data_dir, tmp_path, capsys):
    from awbench.evaluation import evaluate_checkpoint

    evaluate_checkpoint("zoo:cifar10-aw-small-cnn-awnet", attacks=["pgd"], n_examples=10, steps=1, data_dir=data_dir,
                        device="cpu", out=tmp_path, show_progress=True, dynamic_defaults=False)
    err = " ".join(capsys.readouterr().err.split())
    assert "attacks clean, pgd (1 step), (--no-adaptive: no adaptive suite, no AutoAttack added" in err
    assert "then pgd on the network pinned to r = 0 and r = 1 (per-regime bounds)" in err
    assert "(added: an AW-Net)" not in err

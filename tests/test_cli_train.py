import os

import pytest
import torch
from conftest import one_line_error

from awbench import checkpoint


@pytest.mark.parametrize("args", [["--help"], ["train", "--help"], ["zoo", "--help"], ["zoo", "list"]])
def test_help_and_zoo_list(run_cli, args):
    code, out, err = run_cli(*args)
    assert code == 0
    text = out + err
    if "--help" in args and args[0] != "zoo":
        assert "Example" in text and "awbench train cifar10" in text
    if args == ["zoo", "list"]:
        assert "small-cnn" in text and "wrn-34-10" in text
        from model_zoo.manifest import entries
        for item in entries():  # checkpoint names are what users type after zoo:, so never cut or wrapped
            assert item.name in text


@pytest.mark.parametrize("args,needle", [
    (["eval"], "Missing argument"),
    (["eval", "x.pt", "--n-examples", "abc"], "--n-examples"),
    (["evl"], "No such command 'evl'"),
    (["eval", "x.pt", "--bogus"], "--bogus"),
    (["compare"], "Missing argument"),
])
def test_usage_errors_are_one_line_too(run_cli, args, needle):
    line = one_line_error(*run_cli(*args)[::2])
    assert needle in line and "--help" in line


@pytest.mark.parametrize("args", [[], ["zoo"]])
def test_a_bare_command_shows_its_help(run_cli, args):
    code, out, err = run_cli(*args)
    assert code != 0 and "Traceback" not in err
    assert "Usage" in out + err and ("list" in out + err if args else "compare" in out + err)


def test_zoo_info_unknown_lists_choices(run_cli):
    line = one_line_error(*run_cli("zoo", "info", "vgg99")[::2])
    assert "resnet18" in line


@pytest.mark.parametrize("args,needle", [
    (["train", "cifar10", "--model", "vgg99"], "small-cnn"),
    (["train", "cifar10", "--method", "fast-at"], "trades"),
    (["train", "imagenet"], "cifar100"),
    (["train", "cifar10", "--eps", "3"], "[0, 1]"),
    (["train", "cifar10", "--epochs", "0"], "--epochs"),
])
def test_bad_train_options(run_cli, args, needle):
    assert needle in one_line_error(*run_cli(*args)[::2])


def test_train_missing_data(run_cli, tmp_path, monkeypatch):
    monkeypatch.delenv("AWBENCH_DATA", raising=False)
    monkeypatch.setattr("awbench.data.datasets.DEFAULT_CACHE", tmp_path / "cache")
    (tmp_path / "empty").mkdir()  # a folder without the data (a folder that is not there is its own error)
    line = one_line_error(*run_cli("train", "cifar10", "--data-dir", tmp_path / "empty", "--out", tmp_path)[::2])
    assert "not found" in line and "--data-dir" in line


class _Malicious:
    def __reduce__(self):
        return (os.system, ("touch pwned-by-awbench-test",))


def _resume_folder(tmp_path, write):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text('{"model": "small-cnn", "method": "standard", "epochs": 2}')
    write(run / "checkpoint.pt")
    return run


def test_resume_refuses_malicious_pickle(run_cli, tmp_path, monkeypatch, data_dir):
    monkeypatch.chdir(tmp_path)
    run = _resume_folder(tmp_path, lambda p: torch.save({"evil": _Malicious()}, p))
    line = one_line_error(*run_cli("train", "--resume", run, "--data-dir", data_dir)[::2])
    assert "refused" in line
    assert not (tmp_path / "pwned-by-awbench-test").exists()


def test_resume_refuses_truncated_file(run_cli, tmp_path, standard_run, data_dir):
    data = (standard_run / "checkpoint.pt").read_bytes()
    run = _resume_folder(tmp_path, lambda p: p.write_bytes(data[:1000]))
    assert "truncated" in one_line_error(*run_cli("train", "--resume", run, "--data-dir", data_dir)[::2])


def test_resume_refuses_mismatched_state_dict(run_cli, tmp_path, data_dir):
    import model_zoo

    def write(path):
        metadata = {"architecture": "small-cnn", "num_classes": 10, "in_channels": 3, "mean": [0] * 3,
                    "std": [1] * 3}
        checkpoint.save(path, model_zoo.create("small-cnn", num_classes=3), metadata, training_state={"epoch": 1})

    run = _resume_folder(tmp_path, write)
    line = one_line_error(*run_cli("train", "--resume", run, "--data-dir", data_dir, "--device", "cpu")[::2])
    assert "does not fit" in line


def test_train_command_writes_run_folder(run_cli, tmp_path, data_dir):
    code, _, err = run_cli("train", "cifar10", "--method", "standard", "--epochs", "1", "--subset", "64",
                           "--val-size", "20", "--data-dir", data_dir, "--out", tmp_path,
                           "--name", "cli", "--device", "cpu")
    assert code == 0, err
    assert {p.name for p in (tmp_path / "cli").iterdir()} == {"config.json", "train_log.csv", "checkpoint.pt",
                                                               "best.pt"}

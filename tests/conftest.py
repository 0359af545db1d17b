"""Shared fixtures: where the real data lie, and small seeded slices of CIFAR-10."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """AWBENCH_DATA if set, else ../shared/data beside the checkout (where CI puts it); absolute, since some
    tests change the working directory."""
    return Path(os.environ.get("AWBENCH_DATA") or REPO.parent / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = shared_data_dir()
    if not (path / "cifar10" / "cifar10_test.npz").is_file() and not (path / "cifar10_test.npz").is_file():
        pytest.fail(f"real CIFAR-10 not found under {path}; set AWBENCH_DATA")
    return path


@pytest.fixture(scope="session")
def cifar_train(data_dir):
    from awbench.data import load_dataset

    return load_dataset("cifar10", "train", data_dir=data_dir)


@pytest.fixture(scope="session")
def cifar_test(data_dir):
    from awbench.data import load_dataset

    return load_dataset("cifar10", "test", data_dir=data_dir)


@pytest.fixture(autouse=True)
def _few_threads():
    torch.set_num_threads(2)
    yield


@pytest.fixture(scope="session")
def standard_run(tmp_path_factory, data_dir):
    """A small-cnn trained normally for 2 epochs on 1,000 real CIFAR-10 images (a few seconds on CPU)."""
    from awbench.training import TrainConfig, train

    out = tmp_path_factory.mktemp("runs")
    config = TrainConfig(model="small-cnn", method="standard", epochs=2, subset=1000, val_size=0, lr=0.05,
                         data_dir=str(data_dir), out=str(out), name="standard", device="cpu")
    return train(config, show_progress=False)


@pytest.fixture(scope="session")
def standard_model(standard_run):
    from awbench import checkpoint

    model, _ = checkpoint.load(standard_run / "checkpoint.pt")
    return model


@pytest.fixture
def run_cli(capsys, monkeypatch):
    """Run `awbench ARGS...` in-process through the real entry point; return (exit code, stdout, stderr)."""
    from awbench.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr("sys.argv", ["awbench", *map(str, args)])
        capsys.readouterr()
        try:
            main()
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        out, err = capsys.readouterr()
        return code, out, err

    return run

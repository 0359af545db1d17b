"""Shared fixtures: the data (the CIFAR-10 sample shipped in the package; full CIFAR-10 where present) and
small seeded models trained on it.

Every test runs on a fresh clone with no data folder: `data_dir` is the embedded sample (2,000 training and
500 test images of real CIFAR-10, class-balanced). A test that needs the full data set says so with
`@pytest.mark.full_data` and takes the `full_data_dir` fixture; it is skipped, with the reason, where
full CIFAR-10 is absent ($AWBENCH_DATA, else ../shared/data beside the checkout, where CI puts it).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from awbench.data.embedded import SAMPLE_DIR

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """AWBENCH_DATA if set, else ../shared/data beside the checkout (where CI puts it); absolute, since some
    tests change the working directory."""
    return Path(os.environ.get("AWBENCH_DATA") or REPO.parent / "shared" / "data").resolve()


def full_cifar10_dir() -> Path | None:
    """The folder holding full CIFAR-10 (cifar10_test.npz directly or in cifar10/), or None."""
    path = shared_data_dir()
    for folder in (path, path / "cifar10"):
        if (folder / "cifar10_test.npz").is_file() and (folder / "cifar10_train.npz").is_file():
            return path
    return None


def pytest_collection_modifyitems(config, items):
    if full_cifar10_dir() is not None:
        return
    skip = pytest.mark.skip(reason=f"needs full CIFAR-10 (not in {shared_data_dir()}; set AWBENCH_DATA)")
    for item in items:
        if "full_data" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The folder of the CIFAR-10 sample shipped in the package (cifar10_{train,test}.npz): always there."""
    return SAMPLE_DIR


@pytest.fixture(scope="session")
def full_data_dir() -> Path:
    """The folder holding full CIFAR-10; only for tests marked `full_data` (skipped where it is absent)."""
    path = full_cifar10_dir()
    if path is None:
        pytest.skip(f"needs full CIFAR-10 (not in {shared_data_dir()}; set AWBENCH_DATA)")
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
    """A small-cnn trained normally for 2 epochs on 1,000 images of the CIFAR-10 sample (seconds on CPU)."""
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


def one_line_error(code: int, err: str) -> str:
    """Assert a CLI run failed with exactly one `error: ...` line on stderr and no traceback; return that line."""
    assert code != 0
    assert "Traceback" not in err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]

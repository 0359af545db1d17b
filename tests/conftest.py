"""Shared fixtures: the data (the CIFAR-10 sample shipped in the package; full CIFAR-10 where present), small
seeded models trained on it, the one CLI runner (`run_cli`) and the one one-line-error check (`one_line_error`).

Every test runs on a fresh clone with no data folder: `data_dir` is the embedded sample (2,000 training and
500 test images of real CIFAR-10, class-balanced). A test that needs the full data set says so with
`@pytest.mark.full_data` and takes the `full_data_dir` fixture; it is skipped, with the reason, where
full CIFAR-10 is absent ($AWBENCH_DATA, else ../shared/data beside the checkout, where CI puts it).

Tiers: `pytest -m fast` runs the tests marked `fast` (no data set: synthetic tensors, a few steps at most; under
a minute); plain `pytest` runs everything. Threads: every test runs with 2 torch threads unless its module or
itself says `@pytest.mark.threads(1)` (the evaluation tests: on a shared 2-core machine two OpenMP threads spin
against other jobs and run 10-30x slower; one thread is steady).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import model_zoo
from awbench import checkpoint
from awbench.data import SPECS, DatasetName, balanced_subset
from awbench.data.embedded import SAMPLE_DIR

REPO = Path(__file__).resolve().parents[1]
CIFAR = SPECS[DatasetName.CIFAR10]


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
def _threads(request):
    """Torch intra-op threads: 2, or what the test's `threads(n)` marker says."""
    marker = request.node.get_closest_marker("threads")
    torch.set_num_threads(marker.args[0] if marker else 2)
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


def run_process(*args: object, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `python -m awbench ARGS...` in a fresh interpreter (from the checkout's root, one torch thread): for
    what only a real process shows (stdout kept clean, start-up imports, a whole demo)."""
    return subprocess.run([sys.executable, "-m", "awbench", *map(str, args)], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "120", **(env or {})},
                          timeout=timeout)


def one_line_error(code: int, err: str) -> str:
    """Assert a CLI run failed with exactly one `error: ...` line on stderr and no traceback; return that line."""
    assert code != 0
    assert "Traceback" not in err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


# ---- the evaluation tests' models: a tiny CNN trained on real CIFAR-10 images, and small zoo checkpoints ----


def tiny_cnn() -> nn.Module:
    """Two strided convs and a linear layer: ~100x cheaper than small-cnn, same [0, 1] input contract."""
    return nn.Sequential(OrderedDict(
        normalize=model_zoo.Normalize(CIFAR.mean, CIFAR.std),
        net=nn.Sequential(
            nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10),
        ),
    ))


def fit(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, lr: float = 0.05) -> nn.Module:
    """Plain cross-entropy SGD (no robustness at all), seeded; returns the model in eval mode."""
    generator = torch.Generator().manual_seed(0)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), 64):
            batch = order[start:start + 64]
            optimizer.zero_grad()
            F.cross_entropy(model(x[batch]), y[batch]).backward()
            optimizer.step()
    return model.eval()


def checkpoint_metadata(architecture: str, **extra: object) -> dict:
    return {"architecture": architecture, "num_classes": 10, "in_channels": 3, "mean": list(CIFAR.mean),
            "std": list(CIFAR.std), "dataset": "cifar10", "method": "standard", "norm": "Linf", "eps": 8 / 255,
            "epoch": 1, "run": f"test-{architecture}", **extra}


@pytest.fixture(scope="session")
def train_slice(cifar_train):
    x, y = cifar_train.select(balanced_subset(cifar_train.labels, 2000, seed=1)).as_float()
    return x, y


@pytest.fixture(scope="session")
def tiny_model(train_slice):
    """A non-robust tiny CNN trained for 8 epochs on 2,000 real CIFAR-10 images (~32% test accuracy)."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    return fit(tiny_cnn(), *train_slice, epochs=8)


@pytest.fixture(scope="session")
def test_batch(cifar_test):
    """256 class-balanced real CIFAR-10 test images (seed 0) and labels."""
    return cifar_test.select(balanced_subset(cifar_test.labels, 256, seed=0)).as_float()


@pytest.fixture(scope="session")
def small_cnn_run(tmp_path_factory, train_slice) -> Path:
    """A run folder with best.pt: the zoo's small-cnn trained normally for one epoch on 2,000 images."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = fit(model_zoo.create("small-cnn", mean=CIFAR.mean, std=CIFAR.std), *train_slice, epochs=1, lr=0.02)
    folder = tmp_path_factory.mktemp("runs") / "small-cnn-standard"
    checkpoint.save(folder / "best.pt", model, checkpoint_metadata("small-cnn"))
    return folder


@pytest.fixture(scope="session")
def aw_run(tmp_path_factory) -> Path:
    """A run folder holding an (untrained) aw-small-cnn: an AW-Net with a router, dynamic by design."""
    torch.manual_seed(0)
    model = model_zoo.create("aw-small-cnn", mean=CIFAR.mean, std=CIFAR.std).eval()
    folder = tmp_path_factory.mktemp("runs") / "aw-small-cnn"
    checkpoint.save(folder / "best.pt", model, checkpoint_metadata("aw-small-cnn", method="awnet"))
    return folder

"""Fixtures of the evaluation tests: a tiny CNN trained on real CIFAR-10, and small zoo checkpoints.

A test module takes them all with `from eval_fixtures import *  # noqa: F403` (names in __all__).
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import model_zoo
from awbench import checkpoint
from awbench.data import SPECS, DatasetName, balanced_subset

CIFAR = SPECS[DatasetName.CIFAR10]
__all__ = ["aw_run", "one_thread", "small_cnn_run", "test_batch", "tiny_model", "train_slice"]


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


def metadata(architecture: str, **extra: object) -> dict:
    return {"architecture": architecture, "num_classes": 10, "in_channels": 3, "mean": list(CIFAR.mean),
            "std": list(CIFAR.std), "dataset": "cifar10", "method": "standard", "norm": "Linf", "eps": 8 / 255,
            "epoch": 1, "run": f"test-{architecture}", **extra}


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread in every test of a module that imports this fixture: on a shared 2-core machine
    two OpenMP threads spin against other jobs and run 10-30x slower; one thread is steady."""
    torch.set_num_threads(1)
    yield


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
    checkpoint.save(folder / "best.pt", model, metadata("small-cnn"))
    return folder


@pytest.fixture(scope="session")
def aw_run(tmp_path_factory) -> Path:
    """A run folder holding an (untrained) aw-small-cnn: an AW-Net with a router, dynamic by design."""
    torch.manual_seed(0)
    model = model_zoo.create("aw-small-cnn", mean=CIFAR.mean, std=CIFAR.std).eval()
    folder = tmp_path_factory.mktemp("runs") / "aw-small-cnn"
    checkpoint.save(folder / "best.pt", model, metadata("aw-small-cnn", method="awnet"))
    return folder

"""Worker processes for the distributed tests (spawned; must be importable, hence not a test module)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from torch import nn

import model_zoo


def test_linear(num_classes: int = 10, in_channels: int = 3) -> nn.Module:
    """No batch-norm: a DDP step must then equal the single-process step on the same global batch exactly."""
    return nn.Sequential(nn.Conv2d(in_channels, 8, 3, stride=2), nn.ReLU(), nn.Flatten(),
                         nn.Linear(8 * 15 * 15, num_classes))


if "test-linear" not in model_zoo.available():  # imported by the test and again by each spawned worker
    model_zoo.register("test-linear")(test_linear)


def join(rank: int, world_size: int, port: int) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)


def record_writes(log: Path) -> None:
    """Log every file this process puts in place (awbench writes all its files atomically, by os.replace)."""
    original = os.replace

    def recording(source, target, *args, **kwargs):
        with log.open("a") as handle:
            handle.write(f"{target}\n")
        return original(source, target, *args, **kwargs)

    os.replace = recording


def train_worker(rank: int, world_size: int, port: int, config: dict, logs: str) -> None:
    import torch.distributed as dist

    from awbench.training import TrainConfig, train

    join(rank, world_size, port)
    record_writes(Path(logs) / f"writes-rank{rank}.txt")
    (Path(logs) / f"writes-rank{rank}.txt").touch()
    try:
        train(TrainConfig.from_dict(config), show_progress=False)
    finally:
        dist.destroy_process_group()
    (Path(logs) / f"done-rank{rank}.json").write_text(json.dumps({"rank": rank}))


def eval_worker(rank: int, world_size: int, port: int, kwargs: dict, logs: str) -> None:
    import torch.distributed as dist

    from awbench.evaluation import evaluate_checkpoint

    join(rank, world_size, port)
    record_writes(Path(logs) / f"writes-rank{rank}.txt")
    (Path(logs) / f"writes-rank{rank}.txt").touch()
    try:
        evaluate_checkpoint(**kwargs)
    finally:
        dist.destroy_process_group()

"""torch.distributed, as torchrun sets it up: one process per device, NCCL on GPUs, gloo on CPUs.

`torchrun --nproc_per_node K -m awbench train ...` exports RANK/WORLD_SIZE/LOCAL_RANK/MASTER_ADDR; this module
reads them. A plain `awbench ...` process is a world of one and never touches torch.distributed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


SINGLE = World()  # a plain process: a world of one


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def is_main_process() -> bool:
    """True unless torchrun started this process as a rank other than 0 (for printing only once)."""
    return int(os.environ.get("RANK", "0")) == 0


def setup(device: torch.device) -> tuple[World, torch.device]:
    """Join the process group if torchrun started us (idempotent); return the world and this rank's device."""
    if not launched_by_torchrun():
        return World(), device
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return World(dist.get_rank(), dist.get_world_size(), local_rank), device


def barrier(world: World) -> None:
    if world.distributed:
        dist.barrier()


def gather_objects(world: World, value: Any) -> list[Any]:
    """Every rank's `value`, in rank order, on every rank (a list of one without distribution)."""
    if not world.distributed:
        return [value]
    values: list[Any] = [None] * world.size
    dist.all_gather_object(values, value)
    return values


def broadcast_object(world: World, value: Any) -> Any:
    """Rank 0's `value` on every rank."""
    if not world.distributed:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]

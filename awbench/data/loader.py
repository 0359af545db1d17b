"""Batches from in-memory uint8 images: seeded shuffling, CIFAR augmentation, [0, 1] floats on the device.

Shuffling and augmentation draw from a generator seeded by (seed, epoch), so an epoch is reproducible on
its own: a resumed run sees exactly the batches an uninterrupted run would.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F

from awbench.data.datasets import ImageData


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 100_003 + epoch)


def augment(images: torch.Tensor, generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Random crop (with `pad` zero padding) and horizontal flip, per image, on a uint8/float batch."""
    n, _, h, w = images.shape
    padded = F.pad(images, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    rows = (dy.view(n, 1) + torch.arange(h).view(1, h)).view(n, 1, h, 1)
    cols = (dx.view(n, 1) + torch.arange(w).view(1, w)).view(n, 1, 1, w)
    batch_index = torch.arange(n).view(n, 1, 1, 1)
    channel_index = torch.arange(images.shape[1]).view(1, -1, 1, 1)
    cropped = padded[batch_index, channel_index, rows, cols]
    flip = torch.rand(n, generator=generator) < 0.5
    cropped[flip] = cropped[flip].flip(-1)
    return cropped


def iterate_batches(
    data: ImageData,
    batch_size: int,
    *,
    device: torch.device | str = "cpu",
    shuffle: bool = False,
    augment_images: bool = False,
    generator: torch.Generator | None = None,
    rank: int = 0,
    world_size: int = 1,
    drop_last: bool = False,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield (images in [0, 1] float32, labels) on `device`.

    `batch_size` is the global batch. With world_size > 1 every rank draws the same global batch (same
    order, same augmentation) and keeps every world_size-th image of it, so K ranks together take exactly
    the step one process would take on that batch (a final batch smaller than world_size is dropped).
    """
    generator = generator or torch.Generator().manual_seed(0)
    order = torch.randperm(len(data), generator=generator) if shuffle else torch.arange(len(data))
    stop = len(order) - (len(order) % batch_size if drop_last else 0)
    pin = torch.device(device).type == "cuda"
    for start in range(0, stop, batch_size):
        index = order[start : start + batch_size]
        if len(index) < world_size:
            break
        images = data.images[index]
        if augment_images:
            images = augment(images, generator)
        labels = data.labels[index]
        if world_size > 1:
            images, labels = images[rank::world_size], labels[rank::world_size]
        if pin:
            images = images.pin_memory()
        images = images.to(device, non_blocking=True).float().div_(255)
        yield images, labels.to(device, non_blocking=True)


def num_batches(n: int, batch_size: int, drop_last: bool = False) -> int:
    return n // batch_size if drop_last else -(-n // batch_size)

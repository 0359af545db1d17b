"""Seeded, class-balanced subsets of a data set, cut once into `.npz` files that `load_dataset` reads.

`cut_subsets(folder, ...)` writes folder/NAME_train.npz and folder/NAME_test.npz (each remembers its source and
its rows there); `describe_subsets(folder, NAME)` says in words what they hold. The demo trains and evaluates
on such a folder, so that every later step reads a few hundred images instead of the full set.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch

from awbench.data.datasets import ImageData, balanced_subset, load_dataset
from awbench.files import atomic_write

SPLIT_WORDS = {"train": "training", "test": "test"}


def save_images(path: Path, data: ImageData, index: torch.Tensor | None = None, *, compressed: bool = False) -> None:
    """Write images (NHWC uint8, the layout awbench.data reads), labels and `source` to an .npz file, atomically;
    with `index`, only those rows, and the rows themselves as `source_index`."""
    images, labels = (data.images, data.labels) if index is None else (data.images[index], data.labels[index])
    arrays = {"x": images.permute(0, 2, 3, 1).contiguous().numpy(), "y": labels.numpy()}
    if index is not None:
        arrays["source_index"] = index.numpy()
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **arrays, source=np.array(data.source))
    atomic_write(path, lambda handle: handle.write(buffer.getvalue()))


def subset_files(folder: Path, dataset: str) -> dict[str, Path]:
    return {split: folder / f"{dataset}_{split}.npz" for split in SPLIT_WORDS}


def cut_subsets(folder: Path, dataset: str, sizes: dict[str, int], seed: int,
                data_dir: str | Path | None = None) -> dict[str, ImageData]:
    """Cut a class-balanced subset of `sizes[split]` images of each split (seeded) from `dataset` in `data_dir`
    into folder/DATASET_{split}.npz; return the full data sets they were cut from."""
    sources = {}
    for split, path in subset_files(folder, dataset).items():
        full = load_dataset(dataset, split, data_dir=data_dir)
        save_images(path, full, balanced_subset(full.labels, sizes[split], seed))
        sources[split] = full
    return sources


def describe_subsets(folder: Path, dataset: str) -> str:
    """'1,000 training and 100 test images cut (seeded, class-balanced) from <source>', from the files' record."""
    parts, sources = [], []
    for split, path in subset_files(folder, dataset).items():
        with np.load(path, allow_pickle=False) as arrays:
            parts.append(f"{len(arrays['y']):,} {SPLIT_WORDS[split]}")
            sources.append(str(arrays["source"]) if "source" in arrays.files else "unknown")
    origin = "; ".join(dict.fromkeys(sources))
    return f"{parts[0]} and {parts[1]} images cut (seeded, class-balanced) from {origin}"

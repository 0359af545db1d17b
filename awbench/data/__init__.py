"""Data: datasets by name (`load_dataset`), seeded balanced subsets, and in-memory batch iteration."""

from awbench.data.datasets import (
    SPECS,
    DatasetName,
    DatasetSpec,
    ImageData,
    balanced_subset,
    check_data_dir,
    load_dataset,
    search_roots,
)
from awbench.data.loader import augment, epoch_generator, iterate_batches, num_batches

__all__ = [
    "SPECS", "DatasetName", "DatasetSpec", "ImageData", "augment", "balanced_subset", "check_data_dir",
    "epoch_generator", "iterate_batches", "load_dataset", "num_batches", "search_roots",
]

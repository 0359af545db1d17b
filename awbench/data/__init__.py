"""Data: datasets by name (`load_dataset`), seeded balanced subsets, and in-memory batch iteration.

The names below are imported on first use, so that `awbench.data.names` serves the command line without torch.
"""

from awbench.lazy import lazy_getattr

_WHERE = {
    **dict.fromkeys(("SPECS", "DatasetSpec", "ImageData", "balanced_subset", "check_data_dir", "load_dataset",
                     "search_roots"), "awbench.data.datasets"),
    "DatasetName": "awbench.data.names",
    **dict.fromkeys(("augment", "epoch_generator", "iterate_batches", "num_batches"), "awbench.data.loader"),
    **dict.fromkeys(("cut_subsets", "describe_subsets", "save_images"), "awbench.data.subsets"),
}
__all__ = sorted(_WHERE)


__getattr__ = lazy_getattr(__name__, _WHERE)

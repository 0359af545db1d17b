"""Training: a TrainConfig, a registry of methods, and one loop (`train(config) -> run folder`).

The names below are imported on first use, so that `awbench.training.config` (and the method names) serve the
command line without importing torch.
"""

from awbench.lazy import lazy_getattr

_WHERE = {
    "TrainConfig": "awbench.training.config", "config_for_resume": "awbench.training.run_folder",
    "load_config": "awbench.training.run_folder", "train": "awbench.training.loop",
    "available_methods": "awbench.training.methods",
}
__all__ = sorted(_WHERE)


__getattr__ = lazy_getattr(__name__, _WHERE)

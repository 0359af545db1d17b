"""Training: a TrainConfig, a registry of methods, and one loop (`train(config) -> run folder`)."""

from awbench.training.config import TrainConfig
from awbench.training.loop import load_config, train
from awbench.training.methods import available_methods

__all__ = ["TrainConfig", "available_methods", "load_config", "train"]

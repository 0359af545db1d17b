"""awbench: judge the accuracy-robustness trade-off of image classifiers (AW-Net and baselines)."""

__version__ = "0.1.0"

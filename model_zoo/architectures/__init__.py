"""Importing this package registers every static architecture (one module each)."""

from model_zoo.architectures import preact_resnet, resnet, small_cnn, wide_resnet  # noqa: F401

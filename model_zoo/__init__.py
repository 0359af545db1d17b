"""The model zoo: architectures behind one registry, and a manifest of published checkpoints.

    >>> import model_zoo
    >>> model = model_zoo.create("small-cnn", num_classes=10)
"""

from model_zoo import architectures, aw  # noqa: F401  (importing them registers the static and aw-* architectures)
from model_zoo.registry import Normalize, available, create, register, resolved_options

__all__ = ["Normalize", "available", "aw", "create", "register", "resolved_options"]

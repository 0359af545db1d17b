"""The training methods by name, and the module of awbench/training/methods/ that registers each.

Importable without torch, so that the command line lists the methods in its help and TrainConfig checks a
method's name before anything heavy is imported. Adding a method = its module (a `@register_method(name)`
TrainingMethod subclass) + one line here; tests/test_training_config.py checks that the two agree.
"""

from __future__ import annotations

METHOD_MODULES = {
    "standard": "standard",
    "pgd-at": "pgd_at",
    "trades": "trades",
    "mart": "mart",
    "awnet": "awnet",
}
METHODS = tuple(METHOD_MODULES)

"""Training methods, one module each; importing this package registers them all.

Adding a method: one new module with a `@register_method("name")` TrainingMethod subclass, and its
import below.
"""

from awbench.training.methods import awnet, mart, pgd_at, standard, trades  # noqa: F401
from awbench.training.methods.base import StepResult, TrainingMethod
from awbench.training.methods.registry import available_methods, build_method, method_class, register_method

__all__ = ["StepResult", "TrainingMethod", "available_methods", "build_method", "method_class", "register_method"]

"""Training methods, one module each; importing this package registers them all.

Adding a method: one new module with a `@register_method("name")` TrainingMethod subclass, and its line in
awbench/training/method_names.py.
"""

from importlib import import_module

from awbench.training.method_names import METHOD_MODULES
from awbench.training.methods.base import StepResult, TrainingMethod
from awbench.training.methods.registry import available_methods, build_method, method_class, register_method

for _module in METHOD_MODULES.values():
    import_module(f"awbench.training.methods.{_module}")

__all__ = ["StepResult", "TrainingMethod", "available_methods", "build_method", "method_class", "register_method"]

"""Evaluation under attack: `evaluate_checkpoint(path, attacks=[...]) -> summary dict` (also writes files).

    >>> from awbench.evaluation import evaluate_checkpoint, print_summary
    >>> summary = evaluate_checkpoint("runs/cifar10-small-cnn-pgd-at", attacks=["pgd", "autoattack"],
    ...                               n_examples=500)
    >>> summary["robust_accuracy"]["pgd"], summary["worst_case_accuracy"]

The names below load on first use, so that reading a summary (awbench.evaluation.record) imports no torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {"evaluate_checkpoint": "api", "evaluate_model": "runner", "failed_checks": "report",
          "print_summary": "report", "EvaluationRecord": "record"}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'awbench.evaluation' has no attribute {name!r}")
    return getattr(importlib.import_module(f"awbench.evaluation.{_HOMES[name]}"), name)

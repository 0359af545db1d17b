"""Evaluation under attack: `evaluate_checkpoint(path, attacks=[...]) -> summary dict` (also writes files).

    >>> from awbench.evaluation import evaluate_checkpoint, print_summary
    >>> summary = evaluate_checkpoint("runs/cifar10-small-cnn-pgd-at", attacks=["pgd", "autoattack"],
    ...                               n_examples=500)
    >>> summary["robust_accuracy"]["pgd"], summary["worst_case_accuracy"]
"""

from awbench.evaluation.api import evaluate_checkpoint
from awbench.evaluation.report import failed_checks, print_summary
from awbench.evaluation.runner import evaluate_model

__all__ = ["evaluate_checkpoint", "evaluate_model", "failed_checks", "print_summary"]

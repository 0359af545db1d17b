"""Turning a user's nn.Module into one awbench can judge: [0, 1] inputs, eval mode, and metadata to trace it.

awbench feeds images in [0, 1] and budgets eps in that space, so a model that expects normalised inputs gets
its normalisation put inside it here (`--mean/--std`); a model that normalises itself says so
(`--normalized-inside`). Guessing would silently change what eps means, so one of the two is required.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from awbench.console import console
from awbench.data import SPECS, DatasetName
from awbench.errors import AwbenchError
from awbench.models.options import ModelOptions
from awbench.models.weights import load_weights
from model_zoo import Normalize


def input_convention(options: ModelOptions, in_channels: int) -> tuple[str, str]:
    """('inside' | 'added', a sentence for the summary); raises unless exactly one convention was given."""
    given = options.mean is not None or options.std is not None
    if given and options.normalized_inside:
        raise AwbenchError("give either --mean/--std (awbench normalises) or --normalized-inside (the model does), "
                           "not both")
    if options.normalized_inside:
        return "inside", "inputs in [0, 1]; the model normalises them itself (--normalized-inside)"
    if not given:
        raise AwbenchError("say how the model expects its inputs: --normalized-inside (it takes images in [0, 1]) "
                           "or --mean/--std (awbench normalises [0, 1] images with them in front of the model)")
    if options.mean is None or options.std is None:
        raise AwbenchError("--mean and --std go together; give both")
    for name, values in (("mean", options.mean), ("std", options.std)):
        if len(values) not in (1, in_channels):
            raise AwbenchError(f"--{name} has {len(values)} values; give 1 or {in_channels} (one per channel)")
    if any(value <= 0 for value in options.std):
        raise AwbenchError(f"--std must be positive; got {','.join(f'{v:g}' for v in options.std)}")
    return "added", (f"inputs in [0, 1]; awbench normalises them with mean={list(options.mean)} "
                     f"std={list(options.std)} in front of the model, which must not normalise again; "
                     "eps is measured on [0, 1] images")


def dataset_of(options: ModelOptions) -> DatasetName:
    return DatasetName.parse(options.dataset or "cifar10")


def finish(model: Any, options: ModelOptions, *, reference: str, label: str, architecture: str,
           source: dict[str, Any], device: torch.device | str) -> tuple[nn.Module, dict[str, Any]]:
    """Weights (if any), the input convention and eval mode applied to a freshly built model; (model, metadata)."""
    if not isinstance(model, nn.Module):
        raise AwbenchError(f"{reference} returned a {type(model).__name__}, not a torch.nn.Module")
    dataset = dataset_of(options)
    spec = SPECS[dataset]
    convention, input_detail = input_convention(options, spec.in_channels)
    if options.weights is not None:
        load_weights(model, Path(options.weights))
    if convention == "added":
        model = nn.Sequential(Normalize(options.mean, options.std), model)
    eval_detail = put_in_eval_mode(model, reference)
    num_classes = options.num_classes if options.num_classes is not None else spec.num_classes
    metadata = {
        "architecture": architecture, "num_classes": num_classes,
        "in_channels": spec.in_channels, "mean": list(options.mean or [0.0]), "std": list(options.std or [1.0]),
        "dataset": dataset.value, "method": None, "norm": None, "eps": None, "run": label,
        "checkpoint_path": reference, "source": source,
        "foreign_checks": {"eval_mode": {"status": "pass", "detail": eval_detail},
                           "input_range": {"status": "pass", "detail": input_detail}},
    }
    return model.to(device), metadata


def put_in_eval_mode(model: nn.Module, reference: str) -> str:
    """model.eval(), with a warning when it was (partly) in training mode; the check's detail."""
    training = [name or "(the model)" for name, module in model.named_modules() if module.training]
    model.eval()
    if not training:
        return "the model was in eval mode"
    mode_dependent = [type(module).__name__ for module in model.modules()
                      if isinstance(module, (nn.modules.batchnorm._BatchNorm, nn.Dropout))]
    effect = f" ({len(mode_dependent)} BatchNorm/Dropout layers now use running statistics / are off)" \
        if mode_dependent else ""
    console.print(f"[yellow]warning:[/] {reference} was in training mode; awbench put it in eval mode{effect}")
    return f"the model was in training mode; awbench put it in eval mode{effect}"

"""`tv:NAME`: a torchvision classification architecture (resnet18, wide_resnet50_2, ...) with --weights."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch
from torch import nn

from awbench.errors import AwbenchError, UnknownNameError
from awbench.models import foreign
from awbench.models.options import ModelOptions
from awbench.models.weights import weights_record

PREFIX = "tv:"


def architectures() -> list[str]:
    """torchvision's classification models (not detection, segmentation, video, optical flow)."""
    import torchvision.models as tv_models

    return sorted(tv_models.list_models(module=tv_models))


def load(reference: str, options: ModelOptions, device: torch.device | str) -> tuple[nn.Module, dict[str, Any]]:
    """Build torchvision's architecture with --num-classes (default: the dataset's) and load --weights."""
    import torchvision.models as tv_models

    name = reference[len(PREFIX):]
    if name not in architectures():
        raise UnknownNameError("torchvision classification architecture", name, architectures())
    if options.weights is None:
        raise AwbenchError(f"{reference} needs --weights (a state dict saved with torch.save(model.state_dict())); "
                           "awbench never evaluates random weights nor downloads ImageNet ones silently")
    num_classes = options.num_classes
    if num_classes is None:
        num_classes = foreign.SPECS[foreign.dataset_of(options)].num_classes
    try:
        model = tv_models.get_model(name, weights=None, num_classes=num_classes, **options.model_args)
    except (TypeError, ValueError) as error:
        raise AwbenchError(f"torchvision could not build {name}: {error}") from None
    source = {"kind": "torchvision", "reference": reference, "architecture": name, "num_classes": num_classes,
              "model_args": dict(options.model_args), **weights_record(options.weights)}
    return foreign.finish(model, replace(options, num_classes=num_classes), reference=reference, label=f"tv-{name}",
                          architecture=name, source=source, device=device)

"""Weight interpolation between two checkpoints of one architecture: the trade-off a static network reaches.

    theta(alpha) = (1 - alpha) * theta_A + alpha * theta_B

Each model's batch-norm statistics are re-estimated on training images (the interpolated weights no longer
match either checkpoint's running means), unless turned off (`--no-reestimate-bn`). A dynamic model (AW-Net)
is refused re-estimation: its MixBN layers keep a clean and an adversarial branch, and re-estimating the
adversarial branch needs adversarial examples this module does not make; give it --no-reestimate-bn. Then
each model is saved beside its evaluation and evaluated like any checkpoint. Every summary carries
`"curve": {"kind": "interpolation", "value": alpha, "label": ...}`, so `awbench compare` draws the alphas as
one labelled line: the natural baseline for AW-Net's run-time trade-off.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from awbench import checkpoint as checkpoints
from awbench import run_layout
from awbench.data import balanced_subset, load_dataset
from awbench.errors import AwbenchError
from awbench.evaluation.api import evaluate_checkpoint
from awbench.evaluation.report import rewrite_summary
from model_zoo.aw import is_dynamic

ALPHA_RANGE = (-1.0, 2.0)  # a little extrapolation is allowed; beyond it the weights are meaningless
BN_EXAMPLES = 2000
BN_BATCH_SIZE = 200
CURVE_KIND = "interpolation"
_SAME = ("architecture", "num_classes", "in_channels", "mean", "std", "model_options")
NO_DYNAMIC_BN = ("batch-norm re-estimation is refused for a dynamic model (AW-Net): its MixBN adversarial branch "
                 "needs adversarial examples to re-estimate; give --no-reestimate-bn")


def parse_alphas(text: str | list[float]) -> list[float]:
    """'0,0.25,0.5' -> [0.0, 0.25, 0.5] (sorted); a non-number, repeated or out-of-range value raises."""
    items = [str(item).strip() for item in (text.split(",") if isinstance(text, str) else text)]
    values: list[float] = []
    for item in items:
        try:
            value = float(item)
        except ValueError:
            raise AwbenchError(f"--alphas: '{item}' is not a number; give e.g. 0,0.25,0.5,0.75,1") from None
        if not math.isfinite(value) or not ALPHA_RANGE[0] <= value <= ALPHA_RANGE[1]:
            raise AwbenchError(f"--alphas: {item} lies outside [{ALPHA_RANGE[0]:g}, {ALPHA_RANGE[1]:g}] "
                               "(0 is checkpoint A, 1 is checkpoint B)")
        if value in values:
            raise AwbenchError(f"--alphas lists {item} twice")
        values.append(value)
    if not values:
        raise AwbenchError("--alphas is empty; give e.g. 0,0.25,0.5,0.75,1")
    return sorted(values)


def _name(reference: str | Path) -> str:
    text = str(reference)
    if text.startswith("zoo:"):
        return text[4:]
    path = Path(text)
    return path.parent.name if path.stem in ("best", "checkpoint") else path.stem if path.suffix else path.name


def default_label(name_a: str, name_b: str) -> str:
    """'cifar10-small-cnn standard to pgd-at' for two names sharing 'cifar10-small-cnn-'."""
    shared = os.path.commonprefix([name_a, name_b])
    shared = shared[: shared.rfind("-") + 1] if "-" in shared else ""
    if not shared or shared in (name_a, name_b):
        return f"{name_a} to {name_b}"
    return f"{shared.rstrip('-')} {name_a[len(shared):]} to {name_b[len(shared):]}"


def check_compatible(a: dict[str, Any], b: dict[str, Any]) -> None:
    """Refuse two checkpoints whose weights cannot be mixed (architecture, classes, input, model options, keys,
    shapes); give them as `awbench.checkpoint.read_migrated` returns them (legacy AW-Net metadata resolved)."""
    meta_a, meta_b = a["metadata"], b["metadata"]
    if meta_a["architecture"] != meta_b["architecture"]:
        raise AwbenchError(f"cannot interpolate different architectures: {a['path']} is "
                           f"'{meta_a['architecture']}', {b['path']} is '{meta_b['architecture']}'")
    for key in _SAME[1:]:
        if meta_a.get(key) != meta_b.get(key):
            raise AwbenchError(f"cannot interpolate: the checkpoints differ in {key} "
                               f"({meta_a.get(key)!r} vs {meta_b.get(key)!r})")
    if meta_a.get("dataset") != meta_b.get("dataset"):
        raise AwbenchError(f"cannot interpolate models of different datasets ({meta_a.get('dataset')} vs "
                           f"{meta_b.get('dataset')})")
    state_a, state_b = a["state_dict"], b["state_dict"]
    mismatched = [key for key in state_a if key not in state_b or state_a[key].shape != state_b[key].shape]
    mismatched += [key for key in state_b if key not in state_a]
    if mismatched:
        raise AwbenchError(f"cannot interpolate: the weights differ in {len(mismatched)} tensor(s), e.g. "
                           f"{mismatched[0]}")


def interpolate_state(state_a: dict[str, torch.Tensor], state_b: dict[str, torch.Tensor],
                      alpha: float) -> dict[str, torch.Tensor]:
    """(1 - alpha) * A + alpha * B for floating tensors; counters (BN's num_batches_tracked) are A's."""
    mixed = {}
    for key, tensor_a in state_a.items():
        tensor_b = state_b[key]
        if tensor_a.is_floating_point():
            mixed[key] = (1 - alpha) * tensor_a + alpha * tensor_b.to(tensor_a.dtype)
        else:
            mixed[key] = tensor_a.clone()
    return mixed


def batch_norm_layers(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [module for module in model.modules() if isinstance(module, nn.modules.batchnorm._BatchNorm)]


def reestimate_batch_norm(model: nn.Module, images: torch.Tensor, batch_size: int = BN_BATCH_SIZE) -> int:
    """Replace every BN layer's running statistics by their exact average over `images` (no gradient, no
    other layer in training mode); the model is left in eval mode. Returns the number of BN layers.

    A dynamic model (AW-Net) is refused: its MixBN branches would be reset and the adversarial one cannot be
    re-estimated from clean images (AwbenchError naming --no-reestimate-bn)."""
    if is_dynamic(model):
        raise AwbenchError(NO_DYNAMIC_BN)
    layers = batch_norm_layers(model)
    model.eval()
    momenta = [layer.momentum for layer in layers]
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None  # cumulative average over all batches
        layer.train()
    device = next(model.parameters()).device
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            model(images[start:start + batch_size].to(device))
    for layer, momentum in zip(layers, momenta, strict=True):
        layer.momentum = momentum
    model.eval()
    return len(layers)


def interpolated_model(a: dict[str, Any], b: dict[str, Any], alpha: float,
                       bn_images: torch.Tensor | None = None) -> nn.Module:
    """The model theta(alpha) from two read checkpoints (`awbench.checkpoint.read_migrated`), BN re-estimated on
    `bn_images` when given; weights that do not fit the architecture = one CheckpointError."""
    model = checkpoints.build_model(a["metadata"])
    mixed = {**a, "state_dict": interpolate_state(a["state_dict"], b["state_dict"], alpha)}
    checkpoints.load_weights(model, mixed)
    model.eval()
    if bn_images is not None:
        reestimate_batch_norm(model, bn_images)
    return model


def interpolate_and_evaluate(
    checkpoint_a: str | Path,
    checkpoint_b: str | Path,
    *,
    alphas: str | list[float],
    out: str | Path | None = None,
    reestimate_bn: bool = True,
    bn_examples: int = BN_EXAMPLES,
    label: str | None = None,
    data_dir: str | Path | None = None,
    seed: int = 0,
    **evaluate_options: Any,
) -> list[dict[str, Any]]:
    """Evaluate theta(alpha) for every alpha; writes OUT/alpha-<a>/{interpolated.pt, eval/summary.json}.

    `evaluate_options` go to `evaluate_checkpoint` (attacks, eps, norm, n_examples, ...). Returns the summaries.
    """
    values = parse_alphas(alphas)
    if isinstance(bn_examples, bool) or int(bn_examples) < 1:
        raise AwbenchError(f"--bn-examples must be at least 1, got {bn_examples}")
    a, b = checkpoints.read_migrated(checkpoint_a), checkpoints.read_migrated(checkpoint_b)
    check_compatible(a, b)
    name_a, name_b = _name(checkpoint_a), _name(checkpoint_b)
    label = label or default_label(name_a, name_b)
    root = Path(out) if out is not None else Path("runs") / f"interpolate-{name_a}-{name_b}"
    bn_images = None
    template = checkpoints.build_model(a["metadata"])
    if reestimate_bn and batch_norm_layers(template) and is_dynamic(template):
        raise AwbenchError(NO_DYNAMIC_BN)
    if reestimate_bn and batch_norm_layers(template):
        train = load_dataset(a["metadata"]["dataset"], "train", data_dir=data_dir)
        bn_images = train.select(balanced_subset(train.labels, int(bn_examples), seed)).as_float()[0]
    meta_a, meta_b = a["metadata"], b["metadata"]
    summaries = []
    for alpha in values:
        folder = root / f"alpha-{alpha:g}"
        model = interpolated_model(a, b, alpha, bn_images)
        description = {"a": str(checkpoint_a), "b": str(checkpoint_b), "alpha": alpha,
                       "bn_reestimated": bn_images is not None,
                       "bn_examples": len(bn_images) if bn_images is not None else 0}
        metadata = {**meta_a, "method": "interpolation", "run": f"{label} a={alpha:g}",
                    "eps": meta_a.get("eps") or meta_b.get("eps"), "interpolation": description}
        path = checkpoints.save(folder / run_layout.INTERPOLATED_MODEL, model, metadata)
        summary = evaluate_checkpoint(path, out=folder / "eval", data_dir=data_dir, seed=seed, **evaluate_options)
        summary["curve"] = {"kind": CURVE_KIND, "value": alpha, "label": label}
        summary["interpolation"] = description
        rewrite_summary(summary)
        summaries.append(summary)
    return summaries


def print_interpolation(summaries: list[dict[str, Any]]) -> None:
    """One line per alpha: clean, worst case and their Wilson intervals, on the console (stderr)."""
    from rich.table import Table

    from awbench.console import console

    label = summaries[0]["curve"]["label"] if summaries else ""
    table = Table(title=f"interpolation {label}", caption="accuracies in %, [Wilson 95%]")
    for header in ("alpha", "clean", "worst case", "folder"):
        table.add_column(header, justify="left" if header == "folder" else "right")
    for summary in summaries:
        intervals = summary["intervals"]

        def cell(value: float, bounds: list[float]) -> str:
            return f"{100 * value:.1f} [{100 * bounds[0]:.1f}, {100 * bounds[1]:.1f}]"

        table.add_row(f"{summary['curve']['value']:g}", cell(summary["clean_accuracy"], intervals["clean_accuracy"]),
                      cell(summary["worst_case_accuracy"], intervals["worst_case_accuracy"]), summary["out"])
    console.print(table)

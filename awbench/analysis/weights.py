"""Filter-weight distributions of checkpoints, the analysis the AW-Net paper (arXiv 2306.03430) builds on.

The paper's premise: a standard and an adversarially trained network end up with different filter-weight
distributions, so no single static set of weights serves both regimes. This module puts numbers and a figure
on that for any checkpoints: per conv layer and per filter bank,
  * "static" for a static model's conv;
  * "clean" and "adversarial" for an AW-Net's conv: the two banks of AWConv2d (aw-*), or for LowRankAWConv2d
    (aw-lr-*) the clean bank and clean + the low-rank correction;
it computes summary statistics (weight mean / std / kurtosis, per-filter weight variance and L2 norm, and for
an adversarial bank its relative distance to the clean one) and a histogram of the weights on bins shared by
every bank of the layer (spanning the central 99.8% of the layer's weights; the outermost bins hold the
tails). Layers are named relative to the backbone (an AW-Net's `backbone`, a static model's `net`), so that
the same layer of a static and an AW checkpoint of one backbone line up. The router's convs are not filter
banks of the classifier and are left out.

    result = analyse(["zoo:cifar10-small-cnn-standard", "zoo:cifar10-aw-small-cnn-awnet"])
    write(result, Path("runs/weights"))  # weights_summary.csv, weights_histograms.csv, weights.png, weights.svg
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from awbench import checkpoint, run_layout
from awbench.errors import AwbenchError
from model_zoo.aw import AW_CONVS, routing

BINS = 60
SUMMARY_FIELDS = ("checkpoint", "architecture", "layer", "bank", "filters", "weights_per_filter", "mean", "std",
                  "kurtosis", "filter_variance_mean", "filter_variance_median", "filter_norm_mean", "filter_norm_std",
                  "distance_to_clean")


@dataclass
class Bank:
    """One filter bank of one conv layer of one checkpoint: weights [filters, in/groups, kh, kw]."""

    checkpoint: str
    architecture: str
    layer: str
    bank: str  # static | clean | adversarial
    weight: torch.Tensor
    distance_to_clean: float | None = None

    def summary(self) -> dict[str, object]:
        w = self.weight.double()
        flat = w.flatten()
        per_filter = w.flatten(1)
        centred = flat - flat.mean()
        std = flat.std(correction=0)
        kurtosis = (centred.pow(4).mean() / std.pow(4)).item() - 3.0 if std > 0 else math.nan
        variance = per_filter.var(dim=1, correction=0)
        norm = per_filter.norm(dim=1)
        return {"checkpoint": self.checkpoint, "architecture": self.architecture, "layer": self.layer,
                "bank": self.bank, "filters": per_filter.shape[0], "weights_per_filter": per_filter.shape[1],
                "mean": flat.mean().item(), "std": std.item(), "kurtosis": kurtosis,
                "filter_variance_mean": variance.mean().item(), "filter_variance_median": variance.median().item(),
                "filter_norm_mean": norm.mean().item(), "filter_norm_std": norm.std(correction=0).item(),
                "distance_to_clean": "" if self.distance_to_clean is None else self.distance_to_clean}


@dataclass
class WeightAnalysis:
    banks: list[Bank] = field(default_factory=list)

    @property
    def layers(self) -> list[str]:
        """Layer names in first-seen order."""
        return list(dict.fromkeys(bank.layer for bank in self.banks))

    def summaries(self) -> list[dict[str, object]]:
        return [bank.summary() for bank in self.banks]

    def histograms(self, bins: int = BINS) -> Iterator[tuple[str, Bank, torch.Tensor, torch.Tensor]]:
        """(layer, bank, bin edges, density) with bins shared by all banks of a layer (central 99.8% of them)."""
        for layer in self.layers:
            banks = [bank for bank in self.banks if bank.layer == layer]
            pooled = torch.cat([bank.weight.double().flatten() for bank in banks])
            low, high = torch.quantile(pooled[:1_000_000], torch.tensor([0.001, 0.999], dtype=torch.float64))
            if not high > low:
                low, high = pooled.min() - 1e-6, pooled.max() + 1e-6
            edges = torch.linspace(low.item(), high.item(), bins + 1, dtype=torch.float64)
            for bank in banks:
                counts = torch.histc(bank.weight.double().flatten().clamp(low, high), bins, low.item(), high.item())
                density = counts / counts.sum() / (edges[1] - edges[0])
                yield layer, bank, edges, density


def label_of(reference: str) -> str:
    """A short name for a checkpoint reference: the zoo name, else the run folder's or the file's name."""
    if reference.startswith("zoo:"):
        return reference[4:]
    path = Path(reference)
    return path.parent.name if path.name in run_layout.CHECKPOINTS and path.parent.name else path.stem


def _static_root(model: nn.Module) -> nn.Module:
    return getattr(model, "net", model)


def conv_banks(model: nn.Module, label: str, architecture: str) -> list[Bank]:
    """Every filter bank of the classifier's convs (an AW-Net's router excluded), in module order."""
    awnet = routing(model)
    root = awnet.backbone if awnet is not None else _static_root(model)
    banks: list[Bank] = []
    for name, layer in root.named_modules():
        if isinstance(layer, AW_CONVS):
            clean, adversarial = layer.weight_clean.detach(), layer.weight_adv.detach()
            distance = ((adversarial - clean).norm() / clean.norm().clamp_min(1e-12)).item()
            banks.append(Bank(label, architecture, name, "clean", clean.cpu()))
            banks.append(Bank(label, architecture, name, "adversarial", adversarial.cpu(), distance))
        elif isinstance(layer, nn.Conv2d):
            banks.append(Bank(label, architecture, name, "static", layer.weight.detach().cpu()))
    return banks


def analyse(references: Sequence[str]) -> WeightAnalysis:
    """Load each checkpoint (path, run folder or zoo:NAME) and collect its conv filter banks."""
    if not references:
        raise AwbenchError("give at least one checkpoint")
    labels = [label_of(str(reference)) for reference in references]
    if len(set(labels)) < len(labels):  # two runs' best.pt in different parents, say: keep them apart
        labels = [str(reference) for reference in references]
    result = WeightAnalysis()
    for reference, label in zip(references, labels):
        model, metadata = checkpoint.load(reference)
        banks = conv_banks(model, label, str(metadata["architecture"]))
        if not banks:
            raise AwbenchError(f"{reference} has no convolution layers: `awbench weights` analyses conv filters")
        result.banks.extend(banks)
    return result


def write_csv(result: WeightAnalysis, out: Path) -> tuple[Path, Path]:
    """weights_summary.csv (a row per checkpoint, layer and bank) and weights_histograms.csv (densities)."""
    out.mkdir(parents=True, exist_ok=True)
    summary_path, histogram_path = out / "weights_summary.csv", out / "weights_histograms.csv"
    with summary_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=SUMMARY_FIELDS)
        writer.writeheader()
        writer.writerows(result.summaries())
    with histogram_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["checkpoint", "layer", "bank", "bin_left", "bin_right", "density"])
        for layer, bank, edges, density in result.histograms():
            for index, value in enumerate(density.tolist()):
                writer.writerow([bank.checkpoint, layer, bank.bank, f"{edges[index].item():.6g}",
                                 f"{edges[index + 1].item():.6g}", f"{value:.6g}"])
    return summary_path, histogram_path


def plot(result: WeightAnalysis, out: Path, max_layers: int | None = None) -> list[Path]:
    """weights.png and weights.svg: per layer, the weight histograms and the per-filter variances of every bank."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    layers = result.layers[:max_layers] if max_layers else result.layers
    series = list(dict.fromkeys((bank.checkpoint, bank.bank) for bank in result.banks))
    colours = {key: plt.get_cmap("tab10")(index % 10) for index, key in enumerate(series)}
    figure, axes = plt.subplots(len(layers), 2, figsize=(11, 2.4 * len(layers) + 0.8), squeeze=False)
    histograms = {(layer, bank.checkpoint, bank.bank): (edges, density)
                  for layer, bank, edges, density in result.histograms() if layer in layers}
    for row, layer in enumerate(layers):
        weights_axis, variance_axis = axes[row]
        banks = [bank for bank in result.banks if bank.layer == layer]
        variances = []
        for bank in banks:
            key = (bank.checkpoint, bank.bank)
            edges, density = histograms[(layer, *key)]
            centres = ((edges[:-1] + edges[1:]) / 2).numpy()
            weights_axis.plot(centres, density.numpy(), color=colours[key], lw=1.2, label=_series_label(*key))
            variances.append(bank.weight.double().flatten(1).var(dim=1, correction=0).numpy())
        weights_axis.set_yscale("log")
        weights_axis.set_title(f"{layer}: weights", fontsize=9)
        weights_axis.set_ylabel("density", fontsize=8)
        box = variance_axis.boxplot(variances, orientation="horizontal", patch_artist=True, showfliers=False)
        for patch, bank in zip(box["boxes"], banks):
            patch.set_facecolor(colours[(bank.checkpoint, bank.bank)])
            patch.set_alpha(0.6)
        variance_axis.set_yticks(range(1, len(banks) + 1), [_series_label(b.checkpoint, b.bank) for b in banks],
                                 fontsize=7)
        variance_axis.set_xscale("log")
        variance_axis.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        variance_axis.set_title(f"{layer}: per-filter weight variance", fontsize=9)
        for axis in (weights_axis, variance_axis):
            axis.tick_params(labelsize=7)
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="upper center", ncol=min(3, len(labels)), fontsize=8, frameon=False)
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.5 / figure.get_figheight()))
    paths = [out / "weights.png", out / "weights.svg"]
    out.mkdir(parents=True, exist_ok=True)
    for path in paths:
        figure.savefig(path, dpi=110)
    plt.close(figure)
    return paths


def _series_label(checkpoint_label: str, bank: str) -> str:
    return checkpoint_label if bank == "static" else f"{checkpoint_label} [{bank}]"


def write(result: WeightAnalysis, out: Path, max_layers: int | None = None) -> list[Path]:
    """The CSV files and the figure, in `out`."""
    return [*write_csv(result, out), *plot(result, out, max_layers)]

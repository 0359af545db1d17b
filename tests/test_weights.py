"""`awbench weights`: filter-bank statistics of static and AW-Net checkpoints, files written, bad input."""

import csv

import pytest
import torch
from torch import nn

import model_zoo
from awbench import checkpoint
from awbench.analysis.weights import analyse, conv_banks
from model_zoo.aw import LowRankAWConv2d, aw_layers, routing

META = {"num_classes": 10, "in_channels": 3, "mean": [0.0] * 3, "std": [1.0] * 3}
NO_CONV = "test-weights-linear-only"
if NO_CONV not in model_zoo.available():
    @model_zoo.register(NO_CONV)
    def _linear_only(num_classes: int = 10, in_channels: int = 3) -> nn.Module:
        return nn.Sequential(nn.Flatten(), nn.Linear(in_channels * 32 * 32, num_classes))


def _save(tmp_path, name: str, architecture: str, model: nn.Module) -> str:
    return str(checkpoint.save(tmp_path / f"{name}.pt", model, {"architecture": architecture, **META}))


@pytest.mark.fast
def test_static_and_both_aw_designs_give_their_banks(tmp_path):
    torch.manual_seed(0)
    static = model_zoo.create("small-cnn")
    full = model_zoo.create("aw-small-cnn")
    low_rank = model_zoo.create("aw-lr-small-cnn")
    with torch.no_grad():
        for _, layer in aw_layers(routing(low_rank).backbone):
            if isinstance(layer, LowRankAWConv2d):
                layer.adversarial_mix.normal_(0, 0.2)
    banks = {(b.layer, b.bank): b for b in conv_banks(low_rank, "lr", "aw-lr-small-cnn")}
    layer = routing(low_rank).backbone.features[0]
    basis = layer.weight[layer.out_channels:].flatten(1)
    expected = layer.weight_clean + (layer.adversarial_mix @ basis).view_as(layer.weight_clean)  # clean + U V
    torch.testing.assert_close(banks[("features.0", "adversarial")].weight, expected.detach())
    assert banks[("features.0", "adversarial")].distance_to_clean > 0
    assert not any("router" in name for name, _ in banks)  # the router is not a filter bank of the classifier
    result = analyse([_save(tmp_path, "static", "small-cnn", static), _save(tmp_path, "full", "aw-small-cnn", full),
                      _save(tmp_path, "lr", "aw-lr-small-cnn", low_rank)])
    rows = result.summaries()
    static_layers = {row["layer"] for row in rows if row["checkpoint"] == "static"}
    assert static_layers == {row["layer"] for row in rows if row["checkpoint"] == "full"}  # the layers line up
    assert {row["bank"] for row in rows if row["checkpoint"] == "full"} == {"clean", "adversarial"}
    fresh = [row for row in rows if row["checkpoint"] == "full" and row["bank"] == "adversarial"]
    assert all(row["distance_to_clean"] == 0.0 for row in fresh)  # a fresh conversion: both banks = static
    first = next(row for row in rows if row["checkpoint"] == "static" and row["layer"] == "features.0")
    weight = static.net.features[0].weight.detach().double()
    assert abs(first["filter_variance_mean"] - weight.flatten(1).var(1, correction=0).mean().item()) < 1e-12
    assert abs(first["filter_norm_mean"] - weight.flatten(1).norm(dim=1).mean().item()) < 1e-12
    assert first["filters"] == weight.shape[0]


def test_cli_writes_csv_and_figures(run_cli, tmp_path):
    torch.manual_seed(0)
    paths = [_save(tmp_path, "a", "small-cnn", model_zoo.create("small-cnn")),
             _save(tmp_path, "b", "aw-small-cnn", model_zoo.create("aw-small-cnn"))]
    code, _, err = run_cli("weights", *paths, "--out", tmp_path / "out")
    assert code == 0, err
    with (tmp_path / "out" / "weights_summary.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {(row["checkpoint"], row["bank"]) for row in rows} == {("a", "static"), ("b", "clean"),
                                                                 ("b", "adversarial")}
    with (tmp_path / "out" / "weights_histograms.csv").open() as handle:
        histogram = [row for row in csv.DictReader(handle) if row["checkpoint"] == "a" and row["layer"] ==
                     "features.0"]
    mass = sum(float(r["density"]) * (float(r["bin_right"]) - float(r["bin_left"])) for r in histogram)
    assert abs(mass - 1.0) < 1e-3
    for name in ("weights.png", "weights.svg"):
        assert (tmp_path / "out" / name).stat().st_size > 1000


@pytest.mark.fast
def test_a_checkpoint_without_convolutions_is_a_one_line_error(run_cli, tmp_path):
    path = _save(tmp_path, "mlp", NO_CONV, model_zoo.create(NO_CONV))
    code, _, err = run_cli("weights", path, "--out", tmp_path / "out")
    assert code != 0 and "no convolution layers" in err and len(err.strip().splitlines()) == 1

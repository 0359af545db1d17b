"""awbench.interpolation: theta(alpha) between two checkpoints, BN re-estimation, refusals, the curve entry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import one_line_error

from awbench import checkpoint
from awbench.data import balanced_subset, load_dataset
from awbench.errors import AwbenchError
from awbench.interpolation import (
    check_compatible,
    interpolate_and_evaluate,
    interpolated_model,
    parse_alphas,
    reestimate_batch_norm,
)

STANDARD, ROBUST, AW = ("zoo:cifar10-small-cnn-standard", "zoo:cifar10-small-cnn-pgd-at",
                        "zoo:cifar10-aw-small-cnn-awnet")


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def images(data_dir) -> tuple[torch.Tensor, torch.Tensor]:
    """(64 test images, 256 training images for the BN statistics)."""
    test, train = load_dataset("cifar10", "test", data_dir=data_dir), load_dataset("cifar10", "train",
                                                                                   data_dir=data_dir)
    return (test.select(balanced_subset(test.labels, 64, 0)).as_float()[0],
            train.select(balanced_subset(train.labels, 256, 0)).as_float()[0])


def _logits(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return model.eval()(x)


def test_alpha_zero_and_one_reproduce_the_checkpoints_logits_exactly_without_bn_reestimation(images) -> None:
    x, _ = images
    a, b = checkpoint.read(STANDARD), checkpoint.read(ROBUST)
    for alpha, reference in ((0.0, STANDARD), (1.0, ROBUST)):
        original, _ = checkpoint.load(reference)
        assert torch.equal(_logits(interpolated_model(a, b, alpha), x), _logits(original, x))
    halfway = _logits(interpolated_model(a, b, 0.5), x)
    assert not torch.equal(halfway, _logits(checkpoint.load(STANDARD)[0], x))


def test_with_bn_reestimation_the_ends_are_the_checkpoints_with_reestimated_statistics(images) -> None:
    x, bn_images = images
    a, b = checkpoint.read(STANDARD), checkpoint.read(ROBUST)
    for alpha, reference in ((0.0, STANDARD), (1.0, ROBUST)):
        original, _ = checkpoint.load(reference)
        stored = _logits(original, x)
        reestimate_batch_norm(original, bn_images)
        expected = _logits(original, x)
        assert not torch.equal(expected, stored)  # the statistics did change
        assert torch.allclose(_logits(interpolated_model(a, b, alpha, bn_images), x), expected, atol=1e-5)


def test_different_architectures_are_refused_with_a_clear_message() -> None:
    with pytest.raises(AwbenchError, match="different architectures.*small-cnn.*aw-"):
        check_compatible(checkpoint.read(STANDARD), checkpoint.read(AW))


@pytest.mark.parametrize(("text", "fragment"), [("0,x", "not a number"), ("0,3", "outside"), ("0,0.5,0.5", "twice"),
                                                ("0,nan", "outside"), ("", "not a number")])
def test_bad_alphas_are_one_line_errors(text: str, fragment: str) -> None:
    with pytest.raises(AwbenchError) as error:
        parse_alphas(text)
    assert fragment in str(error.value) and "\n" not in str(error.value)


def test_parse_alphas_sorts() -> None:
    assert parse_alphas("1,0,0.25") == [0.0, 0.25, 1.0]


def test_each_alpha_is_evaluated_and_writes_the_curve_contract(data_dir, tmp_path: Path) -> None:
    summaries = interpolate_and_evaluate(STANDARD, ROBUST, alphas="0,1", out=tmp_path / "interp", bn_examples=64,
                                         data_dir=data_dir, attacks=["fgsm"], eps=8 / 255, n_examples=16,
                                         batch_size=16, device="cpu", show_progress=False, reestimate_bn=False)
    alone = json.loads(json.dumps(summaries[0]))
    for alpha, summary in zip((0.0, 1.0), summaries, strict=True):
        written = json.loads((Path(summary["out"]) / "summary.json").read_text())
        assert written["curve"] == {"kind": "interpolation", "value": alpha,
                                    "label": "cifar10-small-cnn standard to pgd-at"}
        assert written["method"] == "interpolation" and written["interpolation"]["bn_reestimated"] is False
    # alpha = 0 without re-estimation is the standard checkpoint: the same numbers as evaluating it.
    from awbench.evaluation import evaluate_checkpoint

    direct = evaluate_checkpoint(STANDARD, out=tmp_path / "direct", data_dir=data_dir, attacks=["fgsm"],
                                 eps=8 / 255, n_examples=16, batch_size=16, device="cpu", show_progress=False)
    assert (alone["clean_accuracy"], alone["robust_accuracy"]) == (direct["clean_accuracy"],
                                                                   direct["robust_accuracy"])


def test_the_cli_refuses_different_architectures_in_one_line(run_cli) -> None:
    code, _, err = run_cli("interpolate", STANDARD, AW, "--alphas", "0,1")
    assert "different architectures" in one_line_error(code, err)


def _payload(model: torch.nn.Module, metadata: dict, path: str) -> dict:
    return {"metadata": metadata, "state_dict": {k: v.detach().clone() for k, v in model.state_dict().items()},
            "path": path}


def test_a_model_interpolated_with_itself_keeps_its_logits_static_and_aw(images, tmp_path: Path) -> None:
    x, bn_images = images
    for reference in (STANDARD, AW):  # AW: the zoo checkpoint is a legacy (pre-options) one, migrated on read
        payload = checkpoint.read_migrated(reference)
        original, _ = checkpoint.load(reference)
        for alpha in (0.0, 1.0):
            assert torch.equal(_logits(interpolated_model(payload, payload, alpha), x), _logits(original, x))
    # With re-estimation (static): a model whose statistics are exactly those of bn_images stays itself.
    original, metadata = checkpoint.load(STANDARD)
    reestimate_batch_norm(original, bn_images)
    saved = checkpoint.read_migrated(checkpoint.save(tmp_path / "exact.pt", original, metadata))
    for alpha in (0.0, 1.0):
        assert torch.allclose(_logits(interpolated_model(saved, saved, alpha, bn_images), x), _logits(original, x),
                              atol=1e-4)


def test_bn_reestimation_of_a_dynamic_model_is_refused_naming_the_switch(images, data_dir, tmp_path: Path) -> None:
    _, bn_images = images
    model, _ = checkpoint.load(AW)
    with pytest.raises(AwbenchError, match="--no-reestimate-bn") as error:
        reestimate_batch_norm(model, bn_images)
    assert "\n" not in str(error.value)
    with pytest.raises(AwbenchError, match="--no-reestimate-bn"):
        interpolate_and_evaluate(AW, AW, alphas="0,1", out=tmp_path / "aw", data_dir=data_dir, attacks=["fgsm"],
                                 n_examples=8, device="cpu", show_progress=False)
    assert not (tmp_path / "aw").exists()


def test_the_legacy_zoo_aw_checkpoint_interpolates_without_bn_reestimation(data_dir, tmp_path: Path) -> None:
    summaries = interpolate_and_evaluate(AW, AW, alphas="0,1", out=tmp_path / "aw", data_dir=data_dir,
                                         attacks=["fgsm"], eps=8 / 255, n_examples=8, batch_size=8, device="cpu",
                                         show_progress=False, reestimate_bn=False)
    from awbench.evaluation import evaluate_checkpoint

    direct = evaluate_checkpoint(AW, out=tmp_path / "direct", data_dir=data_dir, attacks=["fgsm"], eps=8 / 255,
                                 n_examples=8, batch_size=8, device="cpu", show_progress=False)
    assert [s["clean_accuracy"] for s in summaries] == [direct["clean_accuracy"]] * 2


def test_weights_that_do_not_fit_are_one_checkpoint_error() -> None:
    payload = checkpoint.read_migrated(STANDARD)
    broken = {**payload, "state_dict": {k: v for k, v in payload["state_dict"].items() if "bias" not in k}}
    with pytest.raises(checkpoint.CheckpointError, match="do not fit") as error:
        interpolated_model(broken, broken, 0.5)
    assert "\n" not in str(error.value)


def test_different_model_options_are_refused() -> None:
    import model_zoo

    metadata = {"architecture": "aw-small-cnn", "num_classes": 10, "in_channels": 3, "mean": [0.5] * 3,
                "std": [0.25] * 3, "dataset": "cifar10"}
    payloads = []
    for router_input in ("residual", "raw"):
        options = {"router_input": router_input}
        model = model_zoo.create("aw-small-cnn", num_classes=10, in_channels=3, mean=metadata["mean"],
                                 std=metadata["std"], options=options)
        payloads.append(_payload(model, {**metadata, "model_options": options}, router_input))
    with pytest.raises(AwbenchError, match="model_options"):
        check_compatible(*payloads)

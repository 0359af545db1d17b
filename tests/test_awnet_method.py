"""The awnet training method: loss terms, refusal of static models, MTARD weights, and a real-data check."""

import copy
import math

import pytest
import torch

import model_zoo
from awbench import checkpoint
from awbench.data import balanced_subset, iterate_batches
from awbench.errors import AwbenchError
from awbench.training.config import TrainConfig
from awbench.training.methods import build_method
from awbench.training.methods.awnet import AWNetTraining
from model_zoo.aw import routing

CIFAR = {"mean": [0.4914, 0.4822, 0.4465], "std": [0.2471, 0.2435, 0.2616]}
CPU = torch.device("cpu")


def _method(**overrides) -> AWNetTraining:
    config = TrainConfig(**{"model": "aw-small-cnn", "method": "awnet", "steps": 1, "step_size": 8 / 255, **overrides})
    return build_method(config, CPU)


def _teacher(tmp_path, name: str, seed: int) -> str:
    torch.manual_seed(seed)
    teacher = model_zoo.create("small-cnn", **CIFAR)
    metadata = {"architecture": "small-cnn", "num_classes": 10, "in_channels": 3, **CIFAR}
    return str(checkpoint.save(tmp_path / f"{name}.pt", teacher, metadata))


def test_refuses_a_static_model():
    with pytest.raises(AwbenchError) as info:
        _method().step(model_zoo.create("small-cnn").train(), torch.rand(2, 3, 32, 32), torch.tensor([0, 1]))
    assert "aw-" in str(info.value) and "\n" not in str(info.value)


def test_step_combines_both_cross_entropies_and_the_router_loss():
    torch.manual_seed(0)
    model = model_zoo.create("aw-small-cnn", **CIFAR).train()
    twin = copy.deepcopy(model)  # a step updates BN statistics; the twin sees the same state
    x, y = torch.rand(4, 3, 32, 32), torch.tensor([0, 1, 2, 3])
    torch.manual_seed(1)
    result = _method(router_weight=0.0).step(twin, x, y)
    torch.manual_seed(1)
    weighted = _method(router_weight=2.0).step(model, x, y)
    assert result.adv_logits.shape == result.clean_logits.shape == (4, 10)
    assert 0.0 <= result.stats["router_acc"] <= 1.0
    # the same PGD examples (same seed): the loss differs by exactly 2 * BCE
    assert math.isclose(weighted.loss.item() - result.loss.item(), 2.0 * weighted.stats["router_bce"], rel_tol=1e-3)
    weighted.loss.backward()
    router = routing(model).router
    assert router.detection_head.weight.grad is not None and router.detection_head.weight.grad.abs().sum() > 0
    assert model.training  # the method restores train mode after its eval-mode attack


def test_mtard_teachers_are_frozen_and_adapt_the_weights(tmp_path):
    method = _method(clean_teacher=_teacher(tmp_path, "clean", 1), robust_teacher=_teacher(tmp_path, "robust", 2))
    assert not method.clean_teacher.training and not any(p.requires_grad for p in method.robust_teacher.parameters())
    torch.manual_seed(0)
    model = model_zoo.create("aw-small-cnn", **CIFAR).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.rand(8, 3, 32, 32), torch.randint(0, 10, (8,))
    for _ in range(3):
        result = method.step(model, x, y)
        optimizer.zero_grad()
        result.loss.backward()
        optimizer.step()
    assert method.weight_clean != 0.5 and math.isclose(method.weight_clean + method.weight_adv, 1.0)
    assert {"weight_clean", "kl_clean", "kl_adv", "router_acc"} <= set(result.stats)
    resumed = _method(clean_teacher=method.config.clean_teacher, robust_teacher=method.config.robust_teacher)
    resumed.load_state_dict(method.state_dict())
    assert resumed.state_dict() == method.state_dict()
    for each in (method, resumed):
        each._adapt_weights(0.3, 0.7)
    assert resumed.weight_clean == method.weight_clean


def test_mtard_weight_update_follows_the_relative_losses():
    method = _method()
    method._adapt_weights(2.0, 1.0)  # first step: sets the initial losses, shares 1/2 -> weights stay
    assert method.weight_clean == 0.5
    method._adapt_weights(1.0, 1.0)  # clean halved, adversarial not: the adversarial term gains weight
    assert math.isclose(method.weight_clean, 0.5 - 0.025 * (0.5 - 0.5 / 1.5))
    assert math.isclose(method.weight_adv, 1.0 - method.weight_clean)


def test_a_single_teacher_is_refused(tmp_path):
    with pytest.raises(AwbenchError, match="both"):
        _method(clean_teacher=_teacher(tmp_path, "clean", 1))


def test_router_learns_to_detect_pgd_examples_on_real_cifar10(cifar_train):
    """A short awnet run on real CIFAR-10: held-out detection of clean vs PGD images well above chance."""
    torch.manual_seed(0)
    train_index = balanced_subset(cifar_train.labels, 960, seed=0)
    held_out = cifar_train.select(balanced_subset(cifar_train.labels, 128, seed=1, exclude=train_index))
    model = model_zoo.create("aw-small-cnn", **CIFAR).train()
    # 90 steps of 32 clean + 32 PGD-2 images; router_weight 2 so that this short run is decisive. With the
    # uniform start, 60 steps gave 0.87-1.0 over 8 seeds; with MTARD's start (x + 0.001 N(0, 1)) the PGD
    # examples carry less noise and 60 steps gave 0.69 (2 threads) / 0.98 (1 thread), 90 steps 0.96 (2 threads).
    config = TrainConfig(model="aw-small-cnn", method="awnet", steps=2, step_size=4 / 255, router_weight=2.0)
    method = build_method(config, CPU)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    for epoch in range(3):
        for x, y in iterate_batches(cifar_train.select(train_index), 32, shuffle=True,
                                    generator=torch.Generator().manual_seed(epoch)):
            result = method.step(model, x, y)
            optimizer.zero_grad()
            result.loss.backward()
            optimizer.step()
    model.eval()
    awnet = routing(model)
    x, y = held_out.as_float()
    x_adv = method.attack(model, x, y)  # PGD against the trained AW-Net, router included
    with torch.no_grad():
        model(x)
        clean_detected_clean = (awnet.last_detection_logit <= 0).float().mean().item()
        model(x_adv)
        adv_detected_adv = (awnet.last_detection_logit > 0).float().mean().item()
    detection_accuracy = (clean_detected_clean + adv_detected_adv) / 2
    assert detection_accuracy >= 0.75, (clean_detected_clean, adv_detected_adv)


def test_inner_pgd_starts_at_mtard_small_gaussian_noise():
    """MTARD's code starts its inner PGD at x + 0.001 * N(0, 1), not at a uniform draw in the eps-ball."""
    torch.manual_seed(0)
    model = model_zoo.create("aw-small-cnn", **CIFAR).train()
    x, y = torch.rand(8, 3, 32, 32) * 0.8 + 0.1, torch.randint(0, 10, (8,))
    start = _method(steps=0).attack(model, x, y)  # no ascent step: the start itself
    assert 0.0008 < (start - x).std().item() < 0.0012
    stepped = _method(steps=1).attack(model, x, y)
    assert (stepped - x).abs().max() <= 8 / 255 + 1e-6 and model.training


def test_adaptation_rates_are_divided_by_ten_at_each_lr_decay():
    method = _method(epochs=8, schedule="piecewise", lr=0.1)  # lr x0.1 at epochs 4 and 6 (0-based)
    assert method.decay_epochs == [4, 6]
    assert _method(epochs=8, schedule="cosine").decay_epochs == [] and _method(schedule="constant").decay_epochs == []
    steps = {}
    for epoch in (0, 3, 4, 5, 6, 7):
        method.start_epoch(epoch)
        method.weight_clean, method.initial_loss_clean, method.initial_loss_adv = 0.5, 1.0, 1.0
        method._adapt_weights(1.0, 3.0)  # share_clean = 1/4
        steps[epoch] = 0.5 - method.weight_clean
    assert math.isclose(steps[0], 0.025 * 0.25) and steps[3] == steps[0]
    assert math.isclose(steps[4], steps[0] / 10) and steps[5] == steps[4]
    assert math.isclose(steps[6], steps[0] / 100) and steps[7] == steps[6]
    resumed = _method(epochs=8, schedule="piecewise")
    resumed.start_epoch(5)  # a run resumed mid-way gets the rate of its epoch
    assert math.isclose(resumed.rate_scale, 0.1)


def test_b_mtard_balances_the_teachers_entropies_with_their_temperatures(tmp_path):
    teachers = {"clean_teacher": _teacher(tmp_path, "clean", 1), "robust_teacher": _teacher(tmp_path, "robust", 2)}
    method = _method(temperature_balance=True, **teachers)
    sharp, flat = torch.randn(16, 10) * 3, torch.randn(16, 10) * 0.5  # a confident clean teacher, a soft robust one
    from awbench.training.methods.awnet import mean_entropy

    gap_before = mean_entropy(flat) - mean_entropy(sharp)
    method._balance_temperatures(sharp, flat)
    assert math.isclose(method.temperature_clean, 1.001) and method.temperature_adv == 1.0  # clipped at its floor
    for _ in range(8000):
        method._balance_temperatures(sharp, flat)
    gap_after = mean_entropy(flat, method.temperature_adv) - mean_entropy(sharp, method.temperature_clean)
    assert abs(gap_after) < 0.05 * gap_before and method.temperature_clean > 2
    # the temperatures soften the KL targets, are saved and resumed
    torch.manual_seed(0)
    model = model_zoo.create("aw-small-cnn", **CIFAR).train()
    result = method.step(model, torch.rand(4, 3, 32, 32), torch.tensor([0, 1, 2, 3]))
    assert result.stats["temperature_clean"] == method.temperature_clean
    resumed = _method(temperature_balance=True, **teachers)
    resumed.load_state_dict(method.state_dict())
    assert resumed.temperature_clean == method.temperature_clean
    plain = _method(**teachers)  # without the option the temperatures stay at 1
    plain.step(model, torch.rand(4, 3, 32, 32), torch.tensor([0, 1, 2, 3]))
    assert plain.temperature_clean == plain.temperature_adv == 1.0


def test_temperature_balance_without_teachers_is_refused():
    with pytest.raises(AwbenchError, match="teachers"):
        _method(temperature_balance=True)

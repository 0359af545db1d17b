"""AW-Net router-evasion training (`router_evasion`): the examples, the config, and that it makes evasion harder."""

import pytest
import torch

import model_zoo
from awbench.errors import AwbenchError
from awbench.training.config import TrainConfig
from awbench.training.methods import build_method
from awbench.training.methods import evasion as evasion_module

CIFAR = {"mean": [0.4914, 0.4822, 0.4465], "std": [0.2471, 0.2435, 0.2616]}
CPU = torch.device("cpu")
EPS = 8 / 255
SEED, STEPS, MARGIN = 0, 120, 0.03  # seeds 0 and 1 at 120 steps: +0.051 and +0.055 (256 held-out images)


def _config(**overrides) -> TrainConfig:
    return TrainConfig(**{"model": "aw-small-cnn", "method": "awnet", "steps": 2, "step_size": 4 / 255, **overrides})


@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan")])
def test_router_evasion_outside_zero_one_is_a_one_line_error(value):
    with pytest.raises(AwbenchError) as info:
        _config(router_evasion=value).validate()
    assert "--router-evasion" in str(info.value) and "\n" not in str(info.value)


def test_router_evasion_needs_the_awnet_method():
    with pytest.raises(AwbenchError, match="--method awnet"):
        TrainConfig(model="small-cnn", method="pgd-at", router_evasion=0.5).validate()


def test_cli_records_router_evasion_in_config_and_checkpoint(run_cli, data_dir, tmp_path):
    code, _, err = run_cli("train", "cifar10", "--model", "aw-small-cnn", "--method", "awnet", "--router-evasion",
                           "0.5", "--subset", "20", "--epochs", "1", "--steps", "1", "--val-size", "0",
                           "--batch-size", "10", "--data-dir", str(data_dir), "--out", str(tmp_path), "--name", "ev")
    assert code == 0, err
    from awbench import checkpoint
    from awbench.training import load_config

    assert load_config(tmp_path / "ev").router_evasion == 0.5
    _, metadata = checkpoint.load(tmp_path / "ev" / "checkpoint.pt", device=CPU)
    assert metadata["router_evasion"] == 0.5


def test_evasion_share_is_made_by_the_shared_attacks(monkeypatch):
    """round(fraction * N) examples come from the regime / low-frequency code, the rest from the method's PGD."""
    calls = []
    for name in ("regime_targeted_pgd", "low_frequency_pgd"):
        original = getattr(evasion_module, name)

        def spy(model, x, *args, _original=original, _name=name, **kwargs):
            calls.append((_name, len(x), kwargs["start"], kwargs["judge"]))
            return _original(model, x, *args, **kwargs)

        monkeypatch.setattr(evasion_module, name, spy)
    torch.manual_seed(0)
    model = model_zoo.create("aw-small-cnn", **CIFAR).train()
    x, y = torch.rand(8, 3, 32, 32), torch.randint(0, 10, (8,))
    method = build_method(_config(router_evasion=0.5), CPU)
    x_adv = method.adversarial_examples(model, x, y)
    assert [(name, n) for name, n, _, _ in calls] == [("regime_targeted_pgd", 2), ("low_frequency_pgd", 2)]
    assert all(start in ("zero", "low_noise") and judge is False for _, _, start, judge in calls)
    assert x_adv.shape == x.shape and (x_adv - x).abs().max() <= EPS + 1e-6 and model.training
    calls.clear()
    build_method(_config(router_evasion=0.0), CPU).adversarial_examples(model, x, y)
    assert calls == []


def test_straight_through_softening_runs_on_a_router_without_shortcut():
    """The adaptive suite's straight-through candidate on an AW-Net built with router_shortcut=False (it refused
    such a router before, which crashed `awbench eval` on every no-shortcut AW-Net): exact forward, gradient flows."""
    from awbench.attacks.straight_through import softened_router

    torch.manual_seed(0)
    model = model_zoo.create("aw-small-cnn", options={"router_shortcut": False}, **CIFAR).eval()
    x = torch.rand(4, 3, 32, 32, requires_grad=True)
    with torch.no_grad():
        exact = model(x)
    with softened_router(model, 8.0):
        softened = model(x)
    assert torch.allclose(softened, exact, atol=1e-5)
    (grad,) = torch.autograd.grad(softened.sum(), x)
    assert grad.abs().sum() > 0


def test_apgd_of_the_adaptive_suite_hands_pyautoattack_a_contiguous_input(monkeypatch):
    """The evaluation feeds channels_last inputs on CUDA; pyautoattack's APGD views input gradients (grad.view),
    which crashed every AW-Net evaluation on an H200 (adaptive suite, apgd-ce; CPU gradients happen to be
    contiguous, so the crash does not show here): APGD must get a contiguous input."""
    from awbench.attacks import apgd as apgd_module

    seen = []

    class Recorder:
        def perturb(self, x, y):
            seen.append(x.is_contiguous())
            return x

    monkeypatch.setattr(apgd_module, "build_apgd", lambda *args, **kwargs: Recorder())
    model = model_zoo.create("aw-small-cnn", **CIFAR).eval()
    x = torch.rand(4, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    apgd_module.apgd(model, x, torch.randint(0, 10, (4,)), loss="ce", eps=EPS, n_iter=2)
    assert seen == [True]


def _train(model, config: TrainConfig, x: torch.Tensor, y: torch.Tensor, steps: int, seed: int) -> None:
    method = build_method(config, CPU)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    generator, done = torch.Generator().manual_seed(seed), 0
    while done < steps:
        for index in torch.randperm(len(x), generator=generator).split(32):
            torch.manual_seed(done)  # both runs draw the same starts, resolutions and PGD noise
            result = method.step(model, x[index], y[index])
            optimizer.zero_grad()
            result.loss.backward()
            optimizer.step()
            done += 1
            if done == steps:
                return


def _accuracy_under_regime_clean_attack(model, x: torch.Tensor, y: torch.Tensor) -> float:
    """Accuracy of the real network on the evaluation's regime-"clean" attack (signals pinned to 0, hinge steering
    the real router to "clean", each sample's first iterate that fools the real network)."""
    from awbench.attacks.regime import regime_targeted_pgd

    model.eval()
    torch.manual_seed(0)
    x_adv = regime_targeted_pgd(model, x, y, "clean", eps=EPS, step_size=2 / 255, steps=10, start="zero")
    with torch.no_grad():
        return (model(x_adv).argmax(1) == y).float().mean().item()


def test_router_evasion_training_makes_the_aw_net_harder_to_evade(cifar_train):
    """Same init, data, seed and budget (the CIFAR-10 sample at 16 x 16, 120 steps of 32): the AW-Net trained with
    router_evasion=0.5 keeps more held-out images correct under the evaluation's regime-"clean" attack than the one
    trained on PGD alone. With the option ignored both runs are identical and this fails."""
    import copy

    import torch.nn.functional as F

    from awbench.data import balanced_subset

    torch.set_num_threads(1)  # deterministic trajectory, and two threads on a loaded CPU spin for minutes
    train_index = balanced_subset(cifar_train.labels, 512, seed=0)
    held_out = cifar_train.select(balanced_subset(cifar_train.labels, 256, seed=1, exclude=train_index))
    x, y = cifar_train.select(train_index).as_float()
    x_test, y_test = held_out.as_float()
    x, x_test = F.avg_pool2d(x, 2), F.avg_pool2d(x_test, 2)  # 16 x 16: a quarter of the cost
    torch.manual_seed(SEED)
    plain = model_zoo.create("aw-small-cnn", **CIFAR).train()
    evading = copy.deepcopy(plain)
    _train(plain, _config(router_weight=2.0), x, y, STEPS, SEED)
    _train(evading, _config(router_weight=2.0, router_evasion=0.5), x, y, STEPS, SEED)
    plain_accuracy = _accuracy_under_regime_clean_attack(plain, x_test, y_test)
    evading_accuracy = _accuracy_under_regime_clean_attack(evading, x_test, y_test)
    assert evading_accuracy >= plain_accuracy + MARGIN, (plain_accuracy, evading_accuracy)

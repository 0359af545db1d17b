"""The adaptive suite for router-switched networks: each component on a toy built for it, and the suite on
the zoo AW-Net against AutoAttack."""

from __future__ import annotations

import pytest
import torch
from conftest import CIFAR
from dynamic_toys import EPS, SIZE, ToyRouted, accuracy, darkness, noise_energy, toy_images

import model_zoo
from awbench import checkpoint
from awbench.attacks import apgd, create_attack
from awbench.attacks.adaptive import CANDIDATE_NAMES, CANDIDATES, Adaptive
from awbench.attacks.lowfreq import low_frequency_pgd, model_objective
from awbench.attacks.pgd import pgd
from awbench.attacks.regime import real_network_judge, regime_hinge, regime_targeted_pgd
from awbench.attacks.search import search, upsample
from awbench.attacks.straight_through import softened_router
from awbench.evaluation.checks import TOLERANCE
from awbench.threat import ThreatModel

pytestmark = pytest.mark.threads(1)  # see conftest: one steady thread for evaluation tests

SETTINGS = {"eps": EPS, "step_size": EPS / 4, "steps": 20}


@pytest.fixture
def toy_data() -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    return toy_images()


def _within_budget(x_adv: torch.Tensor, x: torch.Tensor) -> bool:
    return bool((x_adv - x).abs().max() <= EPS + TOLERANCE and x_adv.min() >= 0 and x_adv.max() <= 1)


def test_regime_clean_beats_a_noise_switch_that_stops_random_start_pgd(toy_data):
    """Clean branch weak, router flags noise: PGD's +-eps start lands in the robust branch and stays there."""
    x, y = toy_data
    model = ToyRouted(vulnerable="clean")
    assert accuracy(model, x, y) == 1.0
    assert accuracy(model, pgd(model, x, y, **SETTINGS, loss="cw", random_init=True), y) == 1.0
    for start in ("zero", "low_noise"):
        x_adv = regime_targeted_pgd(model, x, y, "clean", **SETTINGS, start=start)
        assert _within_budget(x_adv, x) and accuracy(model, x_adv, y) == 0.0


def test_regime_adversarial_forces_the_router_into_a_weak_adversarial_branch(toy_data):
    x, y = toy_data
    model = ToyRouted(vulnerable="adversarial")
    assert accuracy(model, pgd(model, x, y, **SETTINGS, loss="cw", random_init=False), y) == 1.0
    x_adv = regime_targeted_pgd(model, x, y, "adversarial", **SETTINGS, start="uniform")
    assert _within_budget(x_adv, x) and accuracy(model, x_adv, y) == 0.0


def test_regime_clean_fine_steps_land_in_a_band_that_coarse_steps_jump_over(toy_data):
    """The weak clean branch reads a checkerboard (weights 1 + 1.5 * board); pushing along it by an amplitude a
    moves the weak reading by 1.5 * a, which fools it once a > 0.0125 / 1.5 = 0.0083. The router flags the
    checkerboard's energy once a > 0.011 (steeply). Sign steps of eps/4 visit a = 0.0078, 0.0157, ...: never in
    the band (0.0083, 0.011), however many steps. The suite's regime-clean-fine (100 steps of eps/40) lands in
    it."""
    x, y = toy_data
    board = torch.zeros(1, 3, SIZE, SIZE)
    board[0, 1] = ((torch.arange(SIZE)[:, None] + torch.arange(SIZE)[None, :]) % 2 * 2 - 1).float()
    threshold = float(noise_energy(board)) * 0.011**2  # energy of the checkerboard at amplitude 0.011
    model = ToyRouted(vulnerable="clean", checkerboard=1.5, threshold=threshold, gain=1e6)
    assert accuracy(model, x, y) == 1.0
    for steps in (20, 100):
        for start in ("zero", "low_noise"):
            coarse = regime_targeted_pgd(model, x, y, "clean", **{**SETTINGS, "steps": steps}, start=start)
            assert accuracy(model, coarse, y) == 1.0
    attack = create_attack("adaptive", ThreatModel(eps=EPS), {"steps": 20})
    fine = next(c for c in CANDIDATES if c.name == "regime-clean-fine")
    x_adv = fine.run(attack, model, x, y)
    assert _within_budget(x_adv, x) and accuracy(model, x_adv, y) == 0.0


def test_regime_hinge_is_not_saturating_and_stops_past_kappa():
    d = torch.tensor([30.0, 0.0, -30.0], requires_grad=True)
    (grad,) = torch.autograd.grad(regime_hinge(d, "clean", 2.0).sum(), d)
    assert grad.tolist() == [1.0, 1.0, 0.0]  # full gradient however confident the router is; none once inside
    assert regime_hinge(torch.tensor([-30.0]), "adversarial", 2.0).item() == 32.0
    with pytest.raises(ValueError, match="regime"):
        regime_hinge(d, "robust")


def test_low_frequency_pgd_evades_a_detector_that_sees_every_high_frequency_step(toy_data):
    """The weak branch's weights carry a checkerboard: full-resolution PGD follows it and trips the router;
    a perturbation upsampled from 4x4 moves the weights' mean and passes."""
    x, y = toy_data
    model = ToyRouted(vulnerable="clean", checkerboard=1.5)
    for random_init in (False, True):
        assert accuracy(model, pgd(model, x, y, **SETTINGS, loss="cw", random_init=random_init), y) >= 0.9
    x_adv = low_frequency_pgd(model, x, y, 4, **SETTINGS, start="zero")
    assert _within_budget(x_adv, x) and accuracy(model, x_adv, y) == 0.0


def test_upsampled_perturbation_stays_in_the_linf_ball():
    w = torch.empty(2, 3, 4, 4).uniform_(-EPS, EPS)
    assert upsample(w, (32, 32)).abs().max() <= EPS + 1e-7


def test_straight_through_softening_passes_gradient_through_a_saturated_router(toy_data):
    """The router reads channel 2's brightness and sits at signal 1.0 exactly (logit 31): its exact gradient is
    0, so a search without a router term never leaves the robust branch. Softened in the backward pass only,
    the signal's gradient brightens channel 2 until the weak clean branch takes over, and it is fooled."""
    x, y = toy_data
    model = ToyRouted(vulnerable="clean", threshold=-EPS / 2, gain=2000, feature=darkness)
    objective = model_objective(model, loss="cw")  # no router term: only the softening can help
    assert accuracy(model, x, y) == 1.0
    plain = search(objective, x, y, **SETTINGS, start="zero", judge=real_network_judge(model))
    with softened_router(model, 8.0):
        softened = search(objective, x, y, **SETTINGS, start="zero", judge=real_network_judge(model))
    assert accuracy(model, plain, y) == 1.0
    assert _within_budget(softened, x) and accuracy(model, softened, y) <= 0.5
    with torch.no_grad():  # outside the context the hooks are gone and the forward is unchanged
        torch.testing.assert_close(model(x), ToyRouted(vulnerable="clean", threshold=-EPS / 2, gain=2000,
                                                       feature=darkness)(x))


def test_straight_through_forward_is_exact_and_backward_is_softened(toy_data):
    x, _ = toy_data
    model = ToyRouted(vulnerable="clean")
    noisy = (x + EPS).clamp(0, 1).requires_grad_(True)
    noisy.data[:, 1, ::2] -= 2 * EPS  # a stripe pattern: the router is saturated at "adversarial"
    exact = model(noisy)
    (plain_grad,) = torch.autograd.grad(model.last_signals["branch"].sum(), noisy)
    with softened_router(model, 8.0):
        softened_out = model(noisy)
        (soft_grad,) = torch.autograd.grad(model.last_signals["branch"].sum(), noisy)
    torch.testing.assert_close(softened_out, exact)
    assert soft_grad.abs().sum() > 100 * plain_grad.abs().sum()


@pytest.mark.parametrize("loss", ["ce", "dlr-targeted"])
def test_apgd_through_the_whole_dynamic_network_lowers_accuracy(toy_data, loss):
    x, y = toy_data
    model = ToyRouted(vulnerable="clean", threshold=1.0)  # a router that never switches: APGD's plain case
    x_adv = apgd.apgd(model, x, y, loss=loss, eps=EPS, n_iter=20)
    assert _within_budget(x_adv, x) and accuracy(model, x_adv, y) == 0.0


@pytest.mark.parametrize("loss", ["ce", "dlr-targeted"])
def test_composite_apgd_with_a_zero_term_is_pyautoattacks_apgd(loss):
    """Cross-test: the subclass that adds a term runs pyautoattack's APGD unchanged (same seed, same output)."""
    torch.manual_seed(0)
    x, y = toy_images()
    model = ToyRouted(vulnerable="clean", threshold=1.0)
    x = (x + torch.empty_like(x).uniform_(-0.01, 0.01)).clamp(0, 1)
    plain = apgd.apgd(model, x, y, loss=loss, eps=EPS / 3, n_iter=10, seed=3)
    composite = apgd.apgd(model, x, y, loss=loss, eps=EPS / 3, n_iter=10, seed=3,
                          term=lambda n: torch.zeros(n))
    torch.testing.assert_close(composite, plain, rtol=0, atol=0)


def test_the_suite_breaks_every_toy_and_records_who_did(toy_data):
    x, y = toy_data
    threat = ThreatModel(eps=EPS)
    for model in (ToyRouted("clean"), ToyRouted("adversarial"), ToyRouted("clean", checkerboard=1.5)):
        attack = create_attack("adaptive", threat, {"steps": 20})
        output = attack.run(model, x, y)
        assert _within_budget(output.x_adv, x) and accuracy(model, output.x_adv, y) == 0.0
        summary = attack.summarize(output.extras, len(y))
        assert summary["successes"] == len(y)
        assert sum(summary["first_success_by_candidate"].values()) == len(y)
        assert sum(summary["successes_routed"].values()) == pytest.approx(1.0)


def test_the_suite_lists_its_components_and_skips_targeted_dlr_below_four_classes():
    assert CANDIDATE_NAMES == ("regime-clean", "regime-adversarial", "lowfreq-4", "lowfreq-8", "lowfreq-16",
                               "straight-through", "apgd-ce", "apgd-t", "regime-clean-fine")
    assert [c.name for c in Adaptive.candidates(3)] == [name for name in CANDIDATE_NAMES if name != "apgd-t"]
    assert Adaptive.candidates(10) == list(CANDIDATES)


def test_adaptive_is_never_above_autoattack_on_the_zoo_aw_net(test_batch):
    """On a small slice of the zoo AW-Net, the suite alone leaves at most as many images as standard AutoAttack,
    and fools every image plain PGD fools."""
    model, _ = checkpoint.load("zoo:cifar10-aw-small-cnn-awnet")
    x, y = test_batch
    with torch.no_grad():
        correct = model(x[:32]).argmax(1) == y[:32]
    x, y = x[:32][correct], y[:32][correct]
    threat = ThreatModel(eps=EPS)
    survived = {}
    for name in ("adaptive", "autoattack", "pgd"):
        torch.manual_seed(0)
        x_adv = create_attack(name, threat, batch_size=64).run(model, x, y).x_adv
        assert _within_budget(x_adv, x)
        with torch.no_grad():
            survived[name] = model(x_adv).argmax(1) == y
    assert int(survived["adaptive"].sum()) <= int(survived["autoattack"].sum())
    assert not (survived["adaptive"] & ~survived["pgd"]).any()


def test_regime_and_low_frequency_objectives_work_in_train_mode_for_training():
    """The training-side API: no judge, the model's train mode is kept, the result stays in the budget."""
    torch.manual_seed(0)
    model = model_zoo.create("aw-small-cnn", mean=CIFAR.mean, std=CIFAR.std).train()
    x, y = torch.rand(6, 3, 32, 32), torch.randint(0, 10, (6,))
    settings = {**SETTINGS, "steps": 2}
    for x_adv in (regime_targeted_pgd(model, x, y, "clean", **settings, start="low_noise", judge=False),
                  regime_targeted_pgd(model, x, y, "adversarial", **settings, start="uniform", judge=False),
                  low_frequency_pgd(model, x, y, 8, **settings, judge=False)):
        assert model.training and x_adv.shape == x.shape and _within_budget(x_adv, x)
        assert (x_adv - x).abs().max() > 0

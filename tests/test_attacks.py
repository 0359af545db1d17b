"""The attack registry and each attack on its own: it attacks, it keeps its budget, eps = 0 changes nothing."""

from __future__ import annotations

import logging

import pytest
import torch

from awbench.attacks import available_attacks, build_attacks, create_attack
from awbench.attacks.autoattack import captured_flags, reset_dynamic_check
from awbench.attacks.pgd import pgd
from awbench.errors import AwbenchError, UnknownNameError
from awbench.evaluation.checks import TOLERANCE
from awbench.threat import Norm, ThreatModel

pytestmark = pytest.mark.threads(1)  # see conftest: one steady thread for evaluation tests

LINF, L2 = ThreatModel(Norm.LINF, 8 / 255), ThreatModel(Norm.L2, 0.5)
# L2 1.0 where an attack must fool the tiny model: at 0.5 its cheap 5-step attacks leave 54-65% of the 48 images
# on the embedded sample and 31-42% on full CIFAR-10 (a margin of a few images); at 1.0, 21-38% and 4-21%.
L2_FOOL = ThreatModel(Norm.L2, 1.0)
CHEAP = {"steps": 5, "aa_iterations": 5, "cw_l2_steps": 20, "cw_l2_binary_search_steps": 5}
CASES = [("fgsm", LINF), ("pgd", LINF), ("cw", LINF), ("pgd", L2_FOOL), ("fgsm", L2_FOOL), ("cw", L2_FOOL),
         ("cw-l2", L2_FOOL), ("autoattack", LINF), ("autoattack", L2_FOOL)]


def options(name: str, **extra) -> dict:
    aa = {"version": "custom", "aa_attacks": ["apgd-ce", "apgd-t"]} if name == "autoattack" else {}
    return {**CHEAP, **aa, **extra}


@pytest.fixture(scope="module")
def correct_batch(tiny_model, test_batch):
    """48 test images the tiny model classifies correctly (so clean accuracy on them is 100%)."""
    x, y = test_batch
    with torch.no_grad():
        keep = tiny_model(x).argmax(1) == y
    return x[keep][:48], y[keep][:48]


def distances(x_adv: torch.Tensor, x: torch.Tensor, norm: Norm) -> torch.Tensor:
    delta = (x_adv.double() - x.double()).flatten(1)
    return delta.abs().amax(1) if norm is Norm.LINF else delta.norm(dim=1)


def accuracy(model, x, y) -> float:
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def test_registry_lists_every_attack_and_refuses_unknown_names():
    assert {"clean", "fgsm", "pgd", "cw", "cw-l2", "autoattack", "adaptive"} <= set(available_attacks())
    with pytest.raises(UnknownNameError, match="unknown attack 'pdg'; choose one of: adaptive"):
        create_attack("pdg", LINF)
    with pytest.raises(UnknownNameError, match="attack option"):
        build_attacks(["pgd"], LINF, {"stepz": 3})
    with pytest.raises(AwbenchError, match="cw-l2 .* --norm L2"):
        create_attack("cw-l2", LINF)


@pytest.mark.parametrize("name,threat", CASES, ids=[f"{n}-{t.norm.value}" for n, t in CASES])
def test_attack_fools_a_non_robust_model_within_its_budget(tiny_model, correct_batch, name, threat):
    x, y = correct_batch
    torch.manual_seed(0)
    x_adv = create_attack(name, threat, options(name), batch_size=32).run(tiny_model, x, y).x_adv
    assert x_adv.shape == x.shape
    assert distances(x_adv, x, threat.norm).max() <= threat.eps + TOLERANCE
    assert x_adv.min() >= 0 and x_adv.max() <= 1
    assert accuracy(tiny_model, x_adv, y) < 0.5  # from 100%


@pytest.mark.parametrize("name", ["clean", "fgsm", "pgd", "cw"])
@pytest.mark.parametrize("norm", [Norm.LINF, Norm.L2])
def test_eps_zero_changes_nothing(tiny_model, correct_batch, name, norm):
    x, y = correct_batch
    x_adv = create_attack(name, ThreatModel(norm, 0.0), options(name)).run(tiny_model, x, y).x_adv
    assert torch.equal(x_adv, x)


def test_early_stop_is_plain_pgd_cut_short_and_never_weaker(tiny_model, correct_batch):
    x, y = correct_batch
    kwargs = {"eps": 2 / 255, "step_size": 0.5 / 255, "steps": 10, "random_init": False}
    plain = pgd(tiny_model, x, y, **kwargs)
    early = pgd(tiny_model, x, y, early_stop=True, **kwargs)
    with torch.no_grad():
        fooled_plain, fooled_early = tiny_model(plain).argmax(1) != y, tiny_model(early).argmax(1) != y
    assert bool((fooled_early | ~fooled_plain).all())  # every sample plain PGD fools, early stop fools too
    survivors = ~fooled_early
    assert torch.equal(early[survivors], plain[survivors])  # the same trajectory where nothing stopped it


def test_restarts_keep_a_fooling_example(tiny_model, correct_batch):
    x, y = correct_batch
    torch.manual_seed(0)
    threat = ThreatModel(Norm.LINF, 1 / 255)
    x_adv = create_attack("pgd", threat, options("pgd", restarts=3)).run(tiny_model, x, y).x_adv
    assert distances(x_adv, x, Norm.LINF).max() <= 1 / 255 + TOLERANCE
    torch.manual_seed(0)
    once = create_attack("pgd", threat, options("pgd")).run(tiny_model, x, y).x_adv
    assert accuracy(tiny_model, x_adv, y) <= accuracy(tiny_model, once, y)  # restart 1 is the same run


def test_cw_l2_reports_median_norm_found(tiny_model, correct_batch):
    x, y = correct_batch
    attack = create_attack("cw-l2", L2, options("cw-l2"))
    output = attack.run(tiny_model, x[:16], y[:16])
    summary = attack.summarize(output.extras, 16)
    assert summary["median_l2_found"] > 0 and 0 < summary["found_fraction_of_attacked"] <= 1


def test_autoattack_flags_are_captured_and_dynamic_counter_is_reset(tiny_model, correct_batch):
    from pyautoattack import checks

    x, y = correct_batch
    checks.funcs["grad"] = 7  # what an earlier flagged model leaves behind in pyautoattack
    attack = create_attack("autoattack", LINF, options("autoattack", aa_iterations=2))
    flags = attack.run(tiny_model, x[:8], y[:8]).flags
    assert not any("dynamic" in flag for flag in flags)

    probabilities = torch.nn.Sequential(tiny_model, torch.nn.Softmax(dim=1)).eval()
    flags = attack.run(probabilities, x[:8], y[:8]).flags
    assert any("probability distribution" in flag for flag in flags)  # reported, not hidden


def test_captured_flags_does_not_leak_handlers():
    logger = logging.getLogger("auto-attack")
    before = list(logger.handlers)
    with captured_flags() as flags:
        logger.warning("a flag")
    reset_dynamic_check()
    assert flags == ["a flag"] and logger.handlers == before


# The adaptive suite's own tests: tests/test_adaptive_suite.py.


def test_adaptive_refuses_a_static_model(tiny_model):
    with pytest.raises(AwbenchError, match="needs a dynamic model"):
        create_attack("adaptive", LINF).check_model(tiny_model)

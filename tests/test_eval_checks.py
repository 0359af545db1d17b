"""Each self-check can fail: a broken model or a broken evaluation is built for each, and the check says so."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from awbench.attacks import AttackOutput, create_attack
from awbench.attacks.autoattack import AutoAttackAdapter
from awbench.evaluation import checks, evaluate_model, units
from awbench.threat import Norm, ThreatModel

pytestmark = pytest.mark.threads(1)  # see conftest: one steady thread for evaluation tests

THREAT = ThreatModel(Norm.LINF, 8 / 255)


def _evaluate(model, x, y, names=("pgd",), **options):
    options = {"steps": 3, **options}
    attacks = [create_attack(name, THREAT, options, batch_size=16, seed=0) for name in names]
    return evaluate_model(model, x, y, attacks, device=torch.device("cpu"), show_progress=False)


@pytest.fixture(scope="module")
def batch(test_batch):
    return test_batch[0][:48], test_batch[1][:48]


class _BatchStatistics(nn.Module):
    """A model that normalises each input by its batch's mean image, like batch norm left in train mode."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model((x - x.mean(0, keepdim=True)) * 2 + 0.5)


class _Unattackable(nn.Module):
    """Logits that do not depend on the input: no gradient can lead an attack anywhere."""

    def __init__(self, label: int):
        super().__init__()
        self.register_buffer("logits", 5.0 * torch.nn.functional.one_hot(torch.tensor(label), 10).float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits.expand(len(x), -1) + 0 * x.flatten(1)[:, :1]


def test_a_sound_evaluation_passes_every_check(tiny_model, batch):
    results = _evaluate(tiny_model, *batch)
    statuses = {name: check["status"] for name, check in results["checks"].items()}
    assert statuses == {name: "pass" for name in statuses}, results["checks"]
    assert {"batch_independent", "large_eps_breaks_all", "rejudged:pgd"} <= set(statuses)


def test_batch_dependent_predictions_fail_the_clean_and_rejudge_checks(tiny_model, batch):
    results = _evaluate(_BatchStatistics(tiny_model).eval(), *batch)
    assert results["checks"]["deterministic"]["status"] == "pass"  # the same batch again agrees...
    assert results["checks"]["batch_independent"]["status"] == "fail"  # ...another composition does not
    assert results["checks"]["rejudged:pgd"]["status"] == "fail"


def test_verdicts_that_do_not_match_their_examples_fail_the_rejudge_check(tiny_model, batch, monkeypatch):
    compute = units.compute_unit

    def misrecorded(*args, **kwargs):  # a bookkeeping slip: results stored against the wrong examples
        result, audit = compute(*args, **kwargs)
        return {**result, "survived": result["survived"][::-1]}, audit

    monkeypatch.setattr(units, "compute_unit", misrecorded)
    results = _evaluate(tiny_model, *batch, steps=1)
    assert results["checks"]["rejudged:pgd"]["status"] == "fail"


def test_an_unattackable_model_fails_the_large_eps_check(batch):
    results = _evaluate(_Unattackable(int(batch[1][0])).eval(), *batch)
    assert results["clean_accuracy"] > 0
    assert results["robust_accuracy"]["pgd"] == results["clean_accuracy"]
    assert results["checks"]["large_eps_breaks_all"]["status"] == "fail"


def test_an_autoattack_that_does_not_attack_fails_the_pgd_consistency_check(tiny_model, batch, monkeypatch):
    monkeypatch.setattr(AutoAttackAdapter, "run", lambda self, model, x, y: AttackOutput(x.clone()))
    results = _evaluate(tiny_model, *batch, names=("pgd", "autoattack"))
    assert results["robust_accuracy"]["pgd"] < results["robust_accuracy"]["autoattack"]
    check = results["checks"]["pgd_vs_autoattack"]
    assert check["status"] == "fail" and "autoattack leaves more survivors" in check["detail"]


def test_attack_consistency_counts_both_directions():
    weaker = torch.tensor([True] * 10 + [False] * 10)
    assert checks.attack_consistency_check("pgd", "autoattack", weaker, weaker)["status"] == "pass"
    stronger = weaker.clone()
    stronger[:5] = False  # AutoAttack breaks 5 samples PGD cannot: expected, counted
    check = checks.attack_consistency_check("pgd", "autoattack", weaker, stronger)
    assert check["status"] == "pass" and "5 broken by autoattack only, 0 by pgd only" in check["detail"]
    check = checks.attack_consistency_check("pgd", "autoattack", stronger, weaker)
    assert check["status"] == "fail"


def test_accuracy_must_not_rise_with_eps():
    assert checks.accuracy_nonincreasing_in_eps({0.0: 0.5, 2 / 255: 0.3, 8 / 255: 0.1})["status"] == "pass"
    check = checks.accuracy_nonincreasing_in_eps({8 / 255: 0.12, 0.0: 0.5, 4 / 255: 0.1})
    assert check["status"] == "fail" and "rises" in check["detail"]
    assert checks.accuracy_nonincreasing_in_eps({0.01: 0.10, 0.02: 0.11}, tolerance=0.02)["status"] == "pass"
    assert checks.accuracy_nonincreasing_in_eps({0.01: 0.3})["status"] == "pass"

"""What `evaluate_model` and the attack registry promise their Python callers (found by a review of the refactor)."""

from __future__ import annotations

import pytest
import torch

import model_zoo
from awbench.attacks import build_attacks, create_attack
from awbench.errors import AwbenchError, UnknownNameError
from awbench.evaluation.runner import evaluate_model
from awbench.threat import ThreatModel

THREAT = ThreatModel(eps=8 / 255)


def _aw_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return model_zoo.create("aw-small-cnn").eval()


def test_router_attacks_alone_still_give_clean_per_regime_bounds():
    """Only router attacks asked (adaptive, dynamic defaults off): the pinned networks have none to run, so they
    get their clean accuracy instead of the whole evaluation failing after its attacks."""
    x, y = torch.rand(4, 3, 32, 32), torch.arange(4)
    attacks = build_attacks(["adaptive"], THREAT, {"steps": 1}, batch_size=4)
    results = evaluate_model(_aw_model(), x, y, attacks, device=torch.device("cpu"), show_progress=False)
    assert results["regime_bounds"]["attacks"] == ["clean"]
    assert set(results["regime_bounds"]["pinned"]) == {"clean", "adversarial"}
    assert results["checks"]["dynamic_attack_set"]["status"] == "flag"


def test_evaluate_model_refuses_a_router_attack_on_a_static_model_before_any_work():
    model = model_zoo.create("small-cnn").eval()
    attacks = build_attacks(["adaptive"], THREAT, {"steps": 1}, batch_size=4)
    with pytest.raises(AwbenchError):
        evaluate_model(model, torch.rand(2, 3, 32, 32), torch.arange(2), attacks, device=torch.device("cpu"),
                       show_progress=False)


def test_a_misspelled_option_is_refused_not_ignored():
    with pytest.raises(UnknownNameError):
        create_attack("pgd", THREAT, {"stepsize": 0.1})
    assert create_attack("pgd", THREAT, {"steps": 7}).describe()["steps"] == 7


def test_the_plan_does_not_call_an_explicitly_complete_attack_set_incomplete(capsys):
    from awbench.data import load_dataset
    from awbench.plans import print_evaluation_plan

    data = load_dataset("cifar10", "test", data_dir="embedded")
    names = ["pgd", "autoattack", "adaptive"]
    attacks = build_attacks(names, THREAT, {"steps": 1})
    print_evaluation_plan({"architecture": "aw-small-cnn"}, data, 10, attacks, THREAT, torch.device("cpu"), 4,
                          names, dynamic=True)
    asked_all = " ".join(capsys.readouterr().err.split())
    assert "--no-adaptive" not in asked_all and "(added: an AW-Net)" not in asked_all
    assert "then pgd + autoattack on the network pinned to r = 0 and r = 1" in asked_all
    print_evaluation_plan({"architecture": "aw-small-cnn"}, data, 10, attacks[:1], THREAT, torch.device("cpu"), 4,
                          names[:1], dynamic=True)
    assert "--no-adaptive" in " ".join(capsys.readouterr().err.split())

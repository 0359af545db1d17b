"""Adding an attack with its own option is one new file plus one registry line (docs/adding-an-attack.md).

The class below is what that new file, awbench/attacks/uniform_noise.py, would hold; the fixture's
`register_attack(...)` call stands for its line in awbench/attacks/__init__.py. The attack then runs through
the real `awbench eval`, and its option reaches the summary through `describe()`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
import torch
from conftest import one_line_error
from torch import nn

from awbench.attacks import base
from awbench.attacks.base import Attack, register_attack, require_positive


@dataclass(frozen=True)
class UniformNoiseOptions:
    draws: int = 3  # random corners of the budget tried per example; the first that fools the model is kept

    def validate(self) -> None:
        require_positive("draws", self.draws)


class UniformNoise(Attack):
    """Random sign noise at the full Linf budget, `draws` times: a weak baseline with an option of its own."""

    Options = UniformNoiseOptions
    options: UniformNoiseOptions

    def perturb(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        best = x.clone()
        for _ in range(self.options.draws):
            x_adv = (x + self.threat.eps * torch.randint_like(x, 2).mul(2).sub(1)).clamp(0, 1)
            with torch.no_grad():
                fooled = model(x_adv).argmax(1) != y
            best[fooled] = x_adv[fooled]
        return best


@pytest.fixture
def uniform_noise(monkeypatch):
    monkeypatch.setattr(base, "_ATTACKS", dict(base._ATTACKS))  # the registry, restored after the test
    register_attack("uniform-noise", cost=3)(UniformNoise)  # the one registry line


def test_a_new_attack_with_its_own_option_runs_through_awbench_eval(uniform_noise, run_cli, data_dir, tmp_path):
    out = tmp_path / "eval"
    code, stdout, err = run_cli("eval", "zoo:cifar10-small-cnn-pgd-at", "-a", "uniform-noise", "-a", "fgsm",
                                "--attack-option", "draws=5", "--n-examples", "20", "--data-dir", data_dir,
                                "--device", "cpu", "--out", out, "--json")
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["details"]["uniform-noise"]["settings"] == {"draws": 5}
    assert json.loads((out / "summary.json").read_text())["details"]["uniform-noise"]["settings"] == {"draws": 5}
    assert summary["checks"]["budget:uniform-noise"]["status"] == "pass"  # judged and budget-checked like any
    assert summary["robust_accuracy"]["uniform-noise"] <= summary["clean_accuracy"]
    assert "uniform-noise" in "".join(summary["attacks"]) and summary["n_examples"] == 20


@pytest.mark.parametrize(("option", "message"), [("draws=0", "--draws must be at least 1, got 0"),
                                                 ("drawz=2", "unknown attack option 'drawz'"),
                                                 ("draws=many", "attack option draws = 'many' is not of type int"),
                                                 ("draws", "is not FIELD=VALUE")])
def test_a_bad_attack_option_is_a_one_line_error(uniform_noise, run_cli, data_dir, option, message):
    code, _, err = run_cli("eval", "zoo:cifar10-small-cnn-pgd-at", "-a", "uniform-noise", "--attack-option", option,
                           "--n-examples", "20", "--data-dir", data_dir, "--device", "cpu")
    assert message in one_line_error(code, err)

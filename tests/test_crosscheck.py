"""Cross-checks against the reference libraries, on real CIFAR-10 test images.

- our PGD (random start off) vs torchattacks' PGD / PGDL2 on the same 256 images: accuracy within 0.5 pp;
- the evaluation's early-stopping PGD is the same attack cut short: never weaker than torchattacks';
- `awbench`'s autoattack path vs one bare pyautoattack call on the same images and seed: equal, for a reduced
  custom APGD set on a tiny model and for the standard version (nothing of awbench's copied into the bare
  side) on a slice of the zoo's PGD-AT checkpoint;
- the zoo manifest's reported numbers reproduce (clean accuracy of every checkpoint; PGD of one).
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
import torch
import torchattacks

import model_zoo.manifest
from awbench.attacks import create_attack
from awbench.attacks.pgd import PGDOptions, pgd
from awbench.data import balanced_subset, load_dataset
from awbench.evaluation import evaluate_checkpoint
from awbench.threat import Norm, ThreatModel

pytestmark = pytest.mark.threads(1)  # see conftest: one steady thread for evaluation tests

SETTINGS = {  # budgets small enough that the tiny model keeps a fair share of its accuracy
    Norm.LINF: {"eps": 2 / 255, "step_size": 0.5 / 255, "steps": 10},
    Norm.L2: {"eps": 0.15, "step_size": 0.03, "steps": 10},
}


def survived(model, x_adv, y) -> torch.Tensor:
    with torch.no_grad():
        return model(x_adv).argmax(1) == y


def reference(model, x, y, norm: Norm) -> torch.Tensor:
    setting = SETTINGS[norm]
    cls = torchattacks.PGD if norm is Norm.LINF else torchattacks.PGDL2
    attack = cls(model, eps=setting["eps"], alpha=setting["step_size"], steps=setting["steps"], random_start=False)
    return survived(model, attack(x, y), y)


@pytest.mark.parametrize("norm", [Norm.LINF, Norm.L2])
def test_pgd_matches_torchattacks(tiny_model, test_batch, norm):
    x, y = test_batch
    assert len(y) == 256
    setting = SETTINGS[norm]
    theirs = reference(tiny_model, x, y, norm)
    ours = survived(tiny_model, pgd(tiny_model, x, y, norm=norm, random_init=False, **setting), y)
    clean = survived(tiny_model, x, y).float().mean()
    assert 0.05 < theirs.float().mean() < clean  # a regime where the comparison means something
    assert abs(ours.float().mean() - theirs.float().mean()) <= 0.005

    options = PGDOptions(steps=setting["steps"], step_size=setting["step_size"], random_start=False)
    threat = ThreatModel(norm, setting["eps"])
    plain = create_attack("pgd", threat, dataclasses.replace(options, early_stop=False))
    evaluated = survived(tiny_model, plain.run(tiny_model, x, y).x_adv, y)
    assert abs(evaluated.float().mean() - theirs.float().mean()) <= 0.005

    early = survived(tiny_model, create_attack("pgd", threat, options).run(tiny_model, x, y).x_adv, y)
    assert bool((theirs | ~early).all())  # early stop never lets a sample survive that torchattacks breaks


def test_autoattack_equals_bare_pyautoattack(small_cnn_run, data_dir, tmp_path):
    from pyautoattack import AutoAttack

    from awbench import checkpoint

    n, eps, seed, attacks = 48, 4 / 255, 0, ["apgd-ce", "apgd-t"]
    summary = evaluate_checkpoint(
        small_cnn_run, attacks=["autoattack"], eps=eps, n_examples=n, batch_size=16, data_dir=data_dir, seed=seed,
        device="cpu", out=tmp_path, show_progress=False, version="custom", aa_attacks=attacks, aa_iterations=5,
        aa_chunk_size=n,  # one chunk: one AutoAttack call over all (clean-correct) examples
    )

    model, _ = checkpoint.load(small_cnn_run, "cpu")
    test = load_dataset("cifar10", "test", data_dir=data_dir)
    x, y = test.select(balanced_subset(test.labels, n, seed)).as_float()
    bare = AutoAttack(model, norm="Linf", eps=eps, version="custom", attacks=attacks, device="cpu", seed=seed)
    for apgd in (bare.apgd, bare.apgd_targeted):  # what APGDAttack.__init__ derives for n_iter=5
        apgd.n_iter, apgd.n_iter_2, apgd.n_iter_min, apgd.size_decr = 5, max(int(0.22 * 5), 1), 1, 1
    x_adv, _ = bare.run_standard_evaluation(x, y, batch_size=16)
    theirs = survived(model, x_adv, y)

    assert 0 < summary["robust_accuracy"]["autoattack"] < summary["clean_accuracy"]
    assert summary["robust_accuracy"]["autoattack"] == int(theirs.sum()) / n
    per_sample = pd.read_csv(tmp_path / "per_sample.csv")
    assert per_sample["survived_autoattack"].tolist() == theirs.int().tolist()


ZOO_PGD_AT = "cifar10-small-cnn-pgd-at"


def test_standard_autoattack_equals_bare_pyautoattack_on_a_zoo_checkpoint(data_dir, tmp_path):
    """Standard AutoAttack (APGD-CE, APGD-T, FAB-T, Square; nothing overridden on either side)."""
    from pyautoattack import AutoAttack

    from awbench import checkpoint

    n, seed = 16, 0
    summary = evaluate_checkpoint(f"zoo:{ZOO_PGD_AT}", attacks=["autoattack"], n_examples=n, batch_size=n,
                                  data_dir=data_dir, seed=seed, device="cpu", out=tmp_path, show_progress=False,
                                  aa_chunk_size=n)
    assert summary["details"]["autoattack"]["settings"]["version"] == "standard"

    model, _ = checkpoint.load(f"zoo:{ZOO_PGD_AT}", "cpu")
    test = load_dataset("cifar10", "test", data_dir=data_dir)
    x, y = test.select(balanced_subset(test.labels, n, seed)).as_float()
    bare = AutoAttack(model, norm="Linf", eps=8 / 255, version="standard", device="cpu", seed=seed)
    x_adv, _ = bare.run_standard_evaluation(x, y, batch_size=n)
    theirs = survived(model, x_adv, y)

    assert 0 < int(theirs.sum()) < round(summary["clean_accuracy"] * n)  # some samples break, some survive
    per_sample = pd.read_csv(tmp_path / "per_sample.csv")
    assert per_sample["survived_autoattack"].tolist() == theirs.int().tolist()


def test_zoo_manifest_numbers_reproduce(data_dir, tmp_path):
    """Every checkpoint's reported clean accuracy, and the PGD-AT checkpoint's reported PGD-20 accuracy (through
    `evaluate_checkpoint`), on the manifest's 500 test images (seed 0). AutoAttack, CW and the AW-Net's adaptive
    attack on 500 images are too slow for a test."""
    from awbench import checkpoint

    test = load_dataset("cifar10", "test", data_dir=data_dir)
    x, y = test.select(balanced_subset(test.labels, 500, 0)).as_float()
    for entry in model_zoo.manifest.entries():
        assert "500 CIFAR-10 test images (seed 0)" in entry.reported["measured_by"]
        model, _ = checkpoint.load(f"zoo:{entry.name}", "cpu")
        clean = int(survived(model, x, y).sum()) / len(y)
        assert clean == pytest.approx(entry.reported["clean_accuracy"], abs=1e-9), entry.name
    summary = evaluate_checkpoint(f"zoo:{ZOO_PGD_AT}", attacks=["pgd"], n_examples=500, data_dir=data_dir, seed=0,
                                  device="cpu", out=tmp_path, show_progress=False)
    reported = model_zoo.manifest.entry(ZOO_PGD_AT).reported
    assert summary["clean_accuracy"] == pytest.approx(reported["clean_accuracy"], abs=1e-9)
    assert summary["robust_accuracy"]["pgd"] == pytest.approx(reported["per_attack"]["pgd"], abs=1e-9)

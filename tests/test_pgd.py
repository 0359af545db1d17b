import pytest
import torch

from awbench.attacks.pgd import pgd
from awbench.errors import AwbenchError
from awbench.threat import Norm, parse_eps


@pytest.fixture(scope="module")
def model_and_batch(cifar_test, standard_model):
    model = standard_model
    x = cifar_test.images[::15].float() / 255  # 34 images, every class
    return model, x, model(x).argmax(1)  # labels = own predictions: clean accuracy is 100%


@pytest.mark.parametrize("norm,eps", [(Norm.LINF, 8 / 255), (Norm.L2, 0.5)])
def test_pgd_stays_within_eps_and_box(model_and_batch, norm, eps):
    model, x, y = model_and_batch
    x_adv = pgd(model, x, y, eps=eps, step_size=eps / 2, steps=5, norm=norm)
    delta = (x_adv - x).flatten(1)
    size = delta.abs().amax(1) if norm is Norm.LINF else delta.norm(dim=1)
    assert size.max() <= eps + 1e-6
    assert x_adv.min() >= 0 and x_adv.max() <= 1
    assert (model(x_adv).argmax(1) != y).any()  # and it does attack


def test_pgd_eps_zero_is_identity(model_and_batch):
    model, x, y = model_and_batch
    assert torch.equal(pgd(model, x, y, eps=0.0, step_size=0.01, steps=3), x)


def test_pgd_leaves_no_parameter_gradient(model_and_batch):
    model, x, y = model_and_batch
    pgd(model, x, y, eps=8 / 255, step_size=2 / 255, steps=2)
    assert all(p.grad is None for p in model.parameters())


def test_parse_eps_fractions_and_range():
    assert parse_eps("8/255") == pytest.approx(8 / 255)
    assert parse_eps("0.5") == 0.5
    for bad in ("2", "-0.1", "abc", "1/0"):
        with pytest.raises(AwbenchError):
            parse_eps(bad)

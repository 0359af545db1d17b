import pytest
import torch
import torch.nn.functional as F

import model_zoo
from model_zoo.errors import UnknownNameError

STATIC = ["small-cnn", "resnet18", "preact-resnet18", "wrn-34-10", "wrn-28-10"]


@pytest.mark.fast
def test_static_architectures_are_registered():
    assert set(STATIC) <= set(model_zoo.available())


@pytest.mark.parametrize("name", STATIC)
def test_forward_shape_and_one_training_step(name):
    torch.manual_seed(0)
    model = model_zoo.create(name, num_classes=7, mean=[0.5] * 3, std=[0.25] * 3).train()
    x, y = torch.rand(2, 3, 32, 32), torch.tensor([1, 5])
    logits = model(x)
    assert logits.shape == (2, 7)
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    F.cross_entropy(logits, y).backward()
    optimizer.step()
    changed = sum(not torch.equal(b, p) for b, p in zip(before, model.parameters()))
    assert changed == len(before)  # every parameter received a gradient and moved


@pytest.mark.fast
def test_normalisation_is_inside_the_model():
    model = model_zoo.create("small-cnn", mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5])
    x = torch.full((1, 3, 4, 4), 1.0)
    assert torch.allclose(model.normalize(x), torch.ones_like(x))


@pytest.mark.fast
def test_mnist_shaped_input():
    model = model_zoo.create("small-cnn", in_channels=1, num_classes=10)
    assert model(torch.rand(3, 1, 28, 28)).shape == (3, 10)


@pytest.mark.fast
def test_unknown_model_lists_choices():
    with pytest.raises(UnknownNameError) as info:
        model_zoo.create("vgg99")
    assert "small-cnn" in str(info.value) and "wrn-34-10" in str(info.value)


@pytest.mark.fast
def test_register_twice_is_refused():
    with pytest.raises(ValueError):
        model_zoo.register("small-cnn")(lambda **_: None)

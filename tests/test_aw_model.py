"""AW-Net models: registry, conversion, the routing interface, batch independence, checkpoints."""

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import model_zoo
from awbench import checkpoint
from model_zoo.architectures.small_cnn import small_cnn
from model_zoo.aw import AWConv2d, AWNet, LowRankAWConv2d, MixBN, aw_layers, convert, is_dynamic, make_aw, routing

BACKBONES = ["small-cnn", "resnet18", "preact-resnet18", "wrn-34-10", "wrn-28-10"]
CIFAR = {"mean": [0.49, 0.48, 0.45], "std": [0.25, 0.24, 0.26]}


def _make_banks_differ(model: nn.Module, seed: int = 0) -> nn.Module:
    """Fresh AW models have equal banks/branches (routing changes nothing); make them differ."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, layer in aw_layers(routing(model).backbone):
            if isinstance(layer, AWConv2d):
                adversarial = layer.weight_adv
                noise = torch.randn(adversarial.shape, generator=generator) * adversarial.std()
                layer.weight.copy_(layer._stack(layer.weight_clean, adversarial + noise))
            elif isinstance(layer, LowRankAWConv2d):
                layer.adversarial_mix.copy_(torch.randn(layer.adversarial_mix.shape, generator=generator) * 0.3)
            else:
                layer.adversarial.running_mean.add_(0.1 * torch.randn(layer.num_features, generator=generator))
                layer.adversarial.weight.mul_(1.2)
    return model


@pytest.mark.fast
def test_aw_architectures_are_registered():
    assert {f"aw-{name}" for name in BACKBONES} <= set(model_zoo.available())


def test_routing_finds_the_awnet_and_nothing_in_static_models():
    dynamic, static = model_zoo.create("aw-small-cnn"), model_zoo.create("small-cnn")
    assert isinstance(routing(dynamic), AWNet) and routing(dynamic) is dynamic.net
    assert routing(static) is None
    assert is_dynamic(dynamic) and not is_dynamic(static)


def test_convert_swaps_every_layer_and_keeps_the_static_function():
    torch.manual_seed(0)
    static = model_zoo.create("resnet18").eval()
    with torch.no_grad():  # non-trivial BN statistics, so a wrongly copied branch would show
        for module in static.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.normal_(0, 0.1)
                module.running_var.uniform_(0.5, 1.5)
    awnet = make_aw(copy.deepcopy(static.net))
    branches = {id(b) for m in awnet.backbone.modules() if isinstance(m, MixBN) for b in (m.clean, m.adversarial)}
    leftovers = [m for m in awnet.backbone.modules() if isinstance(m, (nn.Conv2d, nn.BatchNorm2d))
                 and id(m) not in branches]
    assert not leftovers
    convs = sum(isinstance(m, nn.Conv2d) for m in static.net.modules())
    bns = sum(isinstance(m, nn.BatchNorm2d) for m in static.net.modules())
    layers = dict(aw_layers(awnet.backbone))
    assert len(layers) == convs + bns
    x = torch.rand(3, 3, 32, 32)
    torch.testing.assert_close(awnet.eval()(static.normalize(x)), static(x), rtol=1e-4, atol=1e-4)
    assert convert(awnet.backbone) is awnet.backbone  # converting twice is harmless


@pytest.fixture(scope="module", params=BACKBONES)
def trained_model(request):
    """Each AW backbone after one training step (batch 2 split 1 + 1), with its name.

    The WRNs get 16x16 images: the same layers (they pool adaptively) for a quarter of the work.
    """
    torch.manual_seed(0)
    model = model_zoo.create(f"aw-{request.param}", num_classes=7, **CIFAR).train()
    awnet = routing(model)
    size = 16 if request.param.startswith("wrn") else 32
    x, y = torch.rand(2, 3, size, size), torch.tensor([1, 5])
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    with awnet.split_batch(1):
        logits = model(x)
    assert logits.shape == (2, 7)
    loss = F.cross_entropy(logits, y) + F.binary_cross_entropy_with_logits(
        awnet.last_detection_logit, torch.tensor([0.0, 1.0]))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    loss.backward()
    optimizer.step()
    return request.param, model, before


def test_forward_shape_signals_and_one_training_step(trained_model):
    name, model, before = trained_model
    awnet = routing(model)
    size = 16 if name.startswith("wrn") else 32
    moved = {key for key, p in model.named_parameters() if not torch.equal(before[key], p)}
    assert "net.router.detection_head.weight" in moved
    assert any(key.startswith("net.backbone") for key in moved)
    layers = dict(aw_layers(awnet.backbone))
    assert set(awnet.last_signals) == set(layers)
    for layer_name, signal in awnet.last_signals.items():
        layer = layers[layer_name]
        channels = layer.num_features if isinstance(layer, MixBN) else layer.out_channels
        assert signal.shape == (2, channels) and 0 <= signal.min() and signal.max() <= 1
    model.eval()
    with torch.no_grad():
        assert model(torch.rand(1, 3, size, size)).shape == (1, 7)
    assert awnet.last_detection_logit.shape == (1,)
    assert all(layer.signal is None for layer in layers.values())  # nothing stale left on the layers


def test_checkpoint_round_trip(trained_model, tmp_path):
    name, model, _ = trained_model
    model.eval()
    metadata = {"architecture": f"aw-{name}", "num_classes": 7, "in_channels": 3, **CIFAR}
    path = checkpoint.save(tmp_path / "aw.pt", model, metadata)
    loaded, loaded_metadata = checkpoint.load(path)
    assert is_dynamic(loaded) and loaded_metadata["architecture"] == f"aw-{name}"
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
        torch.testing.assert_close(routing(loaded).last_detection_logit, routing(model).last_detection_logit)


@pytest.fixture
def small_aw():
    torch.manual_seed(0)
    return _make_banks_differ(model_zoo.create("aw-small-cnn", **CIFAR)).eval()


@pytest.mark.fast
def test_eval_output_of_a_sample_does_not_depend_on_its_batch(small_aw):
    x = torch.rand(6, 3, 32, 32)
    with torch.no_grad():
        alone = small_aw(x[:1])
        first_batch = small_aw(x[:3])[:1]
        other_batch = small_aw(torch.cat([x[:1], 0.3 * x[3:]]))[:1]
    torch.testing.assert_close(first_batch, alone, rtol=0, atol=1e-5)
    torch.testing.assert_close(other_batch, alone, rtol=0, atol=1e-5)


def test_gradients_reach_the_input_through_the_router(small_aw):
    awnet = routing(small_aw)
    x, y = torch.rand(4, 3, 32, 32, requires_grad=True), torch.tensor([0, 1, 2, 3])
    loss = F.cross_entropy(small_aw(x), y)
    full_gradient, = torch.autograd.grad(loss, x, retain_graph=True)
    router_parameters = list(awnet.router.parameters())
    router_gradients = torch.autograd.grad(loss, router_parameters, allow_unused=True)
    assert all(g is not None for g in router_gradients) and sum(g.abs().sum() for g in router_gradients) > 0

    # the same forward with the router's outputs detached: only the router path differs
    def cut(_module, _inputs, outputs):
        signals, detection_logit = outputs
        return {name: s.detach() for name, s in signals.items()}, detection_logit.detach()

    handle = awnet.router.register_forward_hook(cut)
    try:
        backbone_only, = torch.autograd.grad(F.cross_entropy(small_aw(x), y), x)
    finally:
        handle.remove()
    assert (full_gradient - backbone_only).abs().sum() > 1e-6 * full_gradient.abs().sum()
    small_aw(x)  # the detection logit of the last forward is differentiable w.r.t. the pixels
    detection_gradient, = torch.autograd.grad(awnet.last_detection_logit.sum(), x, allow_unused=True)
    assert detection_gradient is not None and detection_gradient.abs().sum() > 0


@pytest.mark.fast
def test_pinned_fixes_the_signals_and_selects_a_bank(small_aw):
    awnet = routing(small_aw)
    x = torch.rand(3, 3, 32, 32, requires_grad=True)
    for mode, value, bank in (("clean", 0.0, "clean"), ("adversarial", 1.0, "adversarial")):
        with awnet.pinned(mode):
            pinned_out = small_aw(x)
        assert all(torch.all(s == value) for s in awnet.last_signals.values())
        assert awnet.last_detection_logit.shape == (3,) and awnet.last_detection_logit.requires_grad
        # reference: a copy whose other bank / branch is overwritten by `bank`, so any signal selects it
        reference = copy.deepcopy(small_aw)
        with torch.no_grad():
            for _, layer in aw_layers(routing(reference).backbone):
                if isinstance(layer, AWConv2d):
                    chosen = layer.weight_clean if bank == "clean" else layer.weight_adv
                    layer.weight.copy_(layer._stack(chosen, chosen))
                elif isinstance(layer, LowRankAWConv2d):
                    if bank == "adversarial":
                        layer.weight[: layer.out_channels].copy_(layer.weight_adv)
                    layer.adversarial_mix.zero_()
                else:
                    source = layer.clean if bank == "clean" else layer.adversarial
                    layer.clean.load_state_dict(source.state_dict())
                    layer.adversarial.load_state_dict(source.state_dict())
        torch.testing.assert_close(pinned_out, reference(x), rtol=0, atol=1e-5)
    with awnet.pinned("clean"):
        with awnet.pinned("adversarial"):
            pass
        assert awnet._pinned_mode == "clean"
    assert awnet._pinned_mode is None
    with pytest.raises(ValueError, match="pinned"):
        with awnet.pinned("robust"):
            pass


@pytest.mark.fast
def test_split_batch_normalises_the_halves_with_their_own_branches(small_aw):
    awnet = routing(small_aw)
    small_aw.train()
    awnet.router.eval()  # router signals then depend on each sample only, so the halves can be compared
    torch.manual_seed(1)
    clean, adversarial = torch.rand(4, 3, 32, 32), (torch.rand(3, 3, 32, 32) * 0.5 + 0.5)
    snapshot = copy.deepcopy(small_aw.state_dict())
    with torch.no_grad(), awnet.split_batch(4):
        mixed = small_aw(torch.cat([clean, adversarial]))
    small_aw.load_state_dict(snapshot)
    with torch.no_grad(), awnet.split_batch(4):
        clean_alone = small_aw(clean)
    with torch.no_grad(), awnet.split_batch(0):
        adversarial_alone = small_aw(adversarial)
    torch.testing.assert_close(mixed[:4], clean_alone, rtol=0, atol=1e-5)
    torch.testing.assert_close(mixed[4:], adversarial_alone, rtol=0, atol=1e-5)
    with torch.no_grad():  # without the split, MixBN uses the statistics of the whole mixed batch
        unsplit = small_aw(torch.cat([clean, adversarial]))
    assert not torch.allclose(unsplit[:4], clean_alone, atol=1e-3)


@pytest.mark.fast
def test_a_model_that_ran_can_be_deep_copied(small_aw):
    small_aw(torch.rand(2, 3, 32, 32, requires_grad=True))
    duplicate = copy.deepcopy(small_aw)
    assert routing(duplicate).last_detection_logit is None
    x = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(duplicate(x), small_aw(x))


def test_both_designs_are_registered_and_named_for_what_they_are():
    for name in BACKBONES:
        full, low_rank = model_zoo.create(f"aw-{name}").net, model_zoo.create(f"aw-lr-{name}").net
        convs = [layer for _, layer in aw_layers(full.backbone) if not isinstance(layer, MixBN)]
        assert convs and all(isinstance(layer, AWConv2d) for layer in convs)
        assert any(isinstance(layer, LowRankAWConv2d) for _, layer in aw_layers(low_rank.backbone))
        assert full.options.design == "full" and low_rank.options.design == "low-rank"
    assert model_zoo.create("aw-lr-small-cnn", options={"adversarial_rank_fraction": 1.0}).net.options \
        .adversarial_rank_fraction == 1.0


@pytest.mark.fast
@pytest.mark.parametrize("options", [{"adversarial_rank_fraction": 0.0}, {"adversarial_rank_fraction": 1.5},
                                     {"router_input": "fourier"}, {"router_depth": 3}, {"router_width": 0}])
def test_bad_aw_options_are_one_line_errors(options):
    from model_zoo.errors import ModelZooError

    with pytest.raises(ModelZooError) as info:
        model_zoo.create("aw-lr-small-cnn", options=options)
    assert "\n" not in str(info.value)
    with pytest.raises(ModelZooError, match="takes no options"):
        model_zoo.create("small-cnn", options={"router_width": 8})
    with pytest.raises(ModelZooError, match="full two-bank design takes no"):
        model_zoo.create("aw-small-cnn", options={"adversarial_rank_fraction": 0.5})


def test_the_full_two_bank_variant_trains_too():
    torch.manual_seed(0)
    awnet = make_aw(small_cnn(num_classes=10, in_channels=3), adversarial_rank_fraction=None)
    assert all(isinstance(layer, (AWConv2d, MixBN)) for _, layer in aw_layers(awnet.backbone))
    assert any(isinstance(layer, AWConv2d) for _, layer in aw_layers(awnet.backbone))
    with awnet.split_batch(2):
        logits = awnet.train()(torch.rand(4, 3, 32, 32))
    F.cross_entropy(logits, torch.tensor([0, 1, 2, 3])).backward()
    assert all(p.grad is not None for p in awnet.backbone.parameters())
    low_rank = make_aw(small_cnn(num_classes=10, in_channels=3), adversarial_rank_fraction=0.25)
    assert any(isinstance(layer, LowRankAWConv2d) for _, layer in aw_layers(low_rank.backbone))


@pytest.mark.fast
def test_make_aw_refuses_a_backbone_without_convolutions():
    with pytest.raises(ValueError):
        AWNet(nn.Linear(3, 3))
    assert isinstance(make_aw(nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))).router, nn.Module)
    assert isinstance(dict(aw_layers(make_aw(nn.Sequential(nn.Conv2d(1, 2, 3))).backbone))["0"], AWConv2d)

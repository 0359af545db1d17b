"""AW-Net options: each router option does what it says, is recorded in a checkpoint and rebuilt from it."""

from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

import model_zoo
from awbench import checkpoint
from awbench.training.config import TrainConfig
from awbench.training.loop import metadata_for
from model_zoo.aw import LowRankAWConv2d, aw_layers, routing
from model_zoo.aw.options import migrate_metadata
from model_zoo.aw.router import high_frequency_residual
from model_zoo.errors import ModelZooError

META = {"num_classes": 10, "in_channels": 3, "mean": [0.0] * 3, "std": [1.0] * 3}


def _router(**options):
    torch.manual_seed(0)
    return routing(model_zoo.create("aw-small-cnn", options=options)).router.eval()


def _smooth(n: int, generator: torch.Generator) -> torch.Tensor:
    return F.interpolate(torch.rand(n, 3, 4, 4, generator=generator), size=32, mode="bilinear", align_corners=False)


@pytest.mark.fast
def test_router_input_selects_what_the_router_reads():
    x = torch.rand(2, 3, 32, 32)
    assert torch.equal(_router(router_input="raw").features(x), x)
    assert torch.equal(_router(router_input="residual").features(x), high_frequency_residual(x))
    assert torch.equal(_router(router_input="both").features(x), torch.cat([x, high_frequency_residual(x)], 1))
    assert _router(router_input="both").trunk[0].in_channels == 6
    # what it changes: a constant brightness shift is invisible to the residual router, not to the raw one
    shifted = (x * 0.8 + 0.1, x * 0.8 + 0.1 + 8 / 255)
    with torch.no_grad():
        for router_input, sees_shift in (("residual", False), ("raw", True), ("both", True)):
            router = _router(router_input=router_input)
            before, after = (router(image)[1] for image in shifted)
            assert (not torch.allclose(before, after, atol=1e-5)) == sees_shift, router_input


@pytest.mark.fast
def test_without_the_shortcut_the_signals_do_not_follow_the_detection_head():
    x = torch.rand(3, 3, 32, 32)
    for shortcut in (True, False):
        router = _router(router_shortcut=shortcut)
        with torch.no_grad():
            before = router(x)[0]
            router.detection_head.bias += 20.0  # "certainly adversarial"
            after = router(x)[0]
        moved = any(not torch.equal(before[name], after[name]) for name in before)
        assert moved == shortcut
        if shortcut:  # the collapse the issue measured: every signal of every filter saturates at 1
            assert all(signal.min() > 0.99 for signal in after.values())


def test_without_the_shortcut_a_trained_toy_router_varies_its_signals_across_filters():
    """Train the router to tell smooth images from noisy ones; with the shortcut the per-filter signals of a
    sample collapse to the detector's bit, without it they keep their spread across filters."""
    spreads = {}
    for shortcut in (True, False):
        torch.manual_seed(0)
        model = model_zoo.create("aw-small-cnn", options={"router_shortcut": shortcut}).train()
        awnet = routing(model)
        optimizer = torch.optim.Adam(awnet.router.parameters(), lr=1e-2)
        generator = torch.Generator().manual_seed(0)
        for _ in range(25):
            clean = _smooth(8, generator)
            noisy = (clean + (torch.rand(clean.shape, generator=generator) * 2 - 1) * 8 / 255).clamp(0, 1)
            _, logit = awnet.router(torch.cat([clean, noisy]))
            target = torch.cat([torch.zeros(8), torch.ones(8)])
            optimizer.zero_grad()
            F.binary_cross_entropy_with_logits(logit, target).backward()
            optimizer.step()
        awnet.router.eval()
        with torch.no_grad():
            clean = _smooth(8, generator)
            signals, logit = awnet.router(clean)
        assert logit.max() < 0  # the detector was trained in both cases: clean images are called clean
        per_sample = torch.cat(list(signals.values()), 1)  # [N, all filters]
        spreads[shortcut] = per_sample.std(1).mean().item()
    assert spreads[True] < 0.05 < spreads[False]


@pytest.mark.fast
def test_router_width_and_rank_fraction_set_the_sizes():
    assert _router(router_width=8).trunk[0].out_channels == 8
    assert _router(router_width=8).trunk[3].out_channels == 16
    model = model_zoo.create("aw-lr-small-cnn", options={"adversarial_rank_fraction": 0.5})
    convs = [layer for _, layer in aw_layers(routing(model).backbone) if isinstance(layer, LowRankAWConv2d)]
    assert convs and all(layer.rank == -(-layer.out_channels // 2) for layer in convs)


@pytest.mark.fast
def test_options_are_recorded_in_the_metadata_and_rebuilt_on_load(tmp_path):
    options = {"router_input": "both", "router_shortcut": False, "router_width": 8}
    config = TrainConfig(model="aw-small-cnn", method="awnet", model_options=options)
    data = SimpleNamespace(spec=SimpleNamespace(num_classes=10, in_channels=3, mean=[0.0] * 3, std=[1.0] * 3))
    metadata = metadata_for(config, data, 1)
    assert metadata["model_options"] == {"design": "full", "adversarial_rank_fraction": None, "router_input": "both",
                                         "router_shortcut": False, "router_width": 8, "embedding_dim": 64}
    torch.manual_seed(0)
    model = model_zoo.create("aw-small-cnn", options=options).eval()
    loaded, _ = checkpoint.load(checkpoint.save(tmp_path / "aw.pt", model, metadata))
    router = routing(loaded).router
    assert (router.input, router.shortcut, router.trunk[0].out_channels) == ("both", False, 8)
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    assert metadata_for(TrainConfig(model="small-cnn"), data, 1)["model_options"] == {}


@pytest.mark.fast
def test_bad_options_in_a_config_or_on_the_command_line_are_one_line_errors(run_cli, tmp_path):
    with pytest.raises(ModelZooError, match="low-rank fraction"):
        TrainConfig(model="aw-lr-small-cnn", model_options={"adversarial_rank_fraction": 2.0}).validate()
    for option, value, expected in (("--router-input", "fourier", "unknown router input 'fourier'"),
                                    ("--rank-fraction", "0", "low-rank fraction must lie in (0, 1]")):
        code, _, err = run_cli("train", "cifar10", "--model", "aw-lr-small-cnn", "--method", "awnet", option, value,
                               "--out", tmp_path)
        assert code != 0 and expected in err and len(err.strip().splitlines()) == 1


@pytest.mark.fast
def test_a_legacy_low_rank_checkpoint_is_migrated_to_its_design(tmp_path):
    torch.manual_seed(0)
    model = model_zoo.create("aw-lr-small-cnn").eval()
    with torch.no_grad():  # make the banks differ, so that building the wrong design would show
        for _, layer in aw_layers(routing(model).backbone):
            if isinstance(layer, LowRankAWConv2d):
                layer.adversarial_mix.normal_(0, 0.3)
    path = checkpoint.save(tmp_path / "old.pt", model, {"architecture": "aw-small-cnn", **META})  # no options
    loaded, metadata = checkpoint.load(path)
    assert metadata["architecture"] == "aw-lr-small-cnn" and metadata["migrated_from"] == "aw-small-cnn"
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    recorded = {"architecture": "aw-small-cnn", "model_options": {"router_width": 8}}
    assert migrate_metadata(recorded, {"x.adversarial_mix": None}) is recorded  # a recorded design is trusted

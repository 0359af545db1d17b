import json

import pytest
import torch

import model_zoo
from awbench import checkpoint, zoo
from awbench.errors import CheckpointError
from model_zoo import manifest
from model_zoo.errors import UnknownNameError

META = {"architecture": "small-cnn", "num_classes": 10, "in_channels": 3, "mean": [0.0] * 3, "std": [1.0] * 3}


@pytest.fixture
def local_zoo(tmp_path, monkeypatch):
    """A manifest in tmp_path with one local checkpoint entry."""
    torch.manual_seed(0)
    model = model_zoo.create("small-cnn").eval()
    path = checkpoint.save(tmp_path / "ckpt.pt", model, META)
    item = {"name": "tiny", "architecture": "small-cnn", "dataset": "cifar10", "threat_model": "Linf",
            "eps": 8 / 255, "method": "standard", "file": "ckpt.pt", "sha256": zoo.sha256_of(path),
            "reported": {"clean_accuracy": 0.1}}
    manifest_path = tmp_path / "manifest.json"
    manifest_path.write_text(json.dumps({"checkpoints": [item]}))
    monkeypatch.setattr(manifest, "MANIFEST_PATH", manifest_path)
    return model, path


def test_load_verified_zoo_checkpoint(local_zoo):
    model, _ = local_zoo
    loaded, metadata = checkpoint.load("zoo:tiny")
    x = torch.rand(2, 3, 32, 32)
    assert torch.equal(loaded(x), model(x)) and metadata["architecture"] == "small-cnn"
    assert zoo.resolve_checkpoint("zoo:tiny").name == "ckpt.pt"
    through_prefix, _ = checkpoint.load("zoo:tiny")  # wherever a checkpoint path is taken
    assert torch.equal(through_prefix(x), model(x))


def test_tampered_zoo_checkpoint_is_refused(local_zoo):
    _, path = local_zoo
    payload = torch.load(path, weights_only=True)
    payload["state_dict"]["net.classifier.bias"] += 1
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="sha256"):
        checkpoint.load("zoo:tiny")


def test_unknown_zoo_name_lists_entries(local_zoo):
    with pytest.raises(UnknownNameError, match="tiny"):
        checkpoint.load("zoo:nope")


def test_shipped_manifest_entries_are_well_formed_and_verified():
    for item in manifest.entries():
        assert item.architecture in model_zoo.available()
        if not item.is_remote:
            model, metadata = checkpoint.load(f"zoo:{item.name}")
            assert metadata["architecture"] == item.architecture
            assert metadata["dataset"] == item.dataset and metadata["method"] == item.method


def test_eval_cli_takes_a_zoo_checkpoint(run_cli, data_dir, tmp_path):
    code, out, err = run_cli("eval", "zoo:cifar10-small-cnn-standard", "--attack", "fgsm", "--n-examples", "20",
                             "--data-dir", data_dir, "--out", tmp_path, "--device", "cpu", "--json")
    assert code == 0, err
    assert json.loads(out)["model"] == "small-cnn"


ZOO_AW_FULL = "cifar10-aw-small-cnn-awnet-evasion"  # the deciding experiment's published AW-Net (issue 12)

# Logits of every zoo checkpoint on fixed inputs (4 uniform-noise images, then 4 smooth ones, columns 1 and 7 of
# each row), computed with the code BEFORE the AW designs were renamed (aw-* = full two-bank, aw-lr-* = low-rank)
# and the router got options: loading must still rebuild exactly these networks.
REFERENCE_LOGITS = {
    "cifar10-small-cnn-standard": [3.9351, 1.4024, 4.2206, 1.2358, 5.1254, 1.2599, 4.6408, 1.4408, -2.7233, -2.4394,
                                   -4.3521, -2.2231, -1.0329, -2.2654, -3.7157, -1.9999],
    "cifar10-small-cnn-pgd-at": [0.2588, 0.1284, 0.2828, 0.1901, 0.3243, 0.0958, 0.3901, 0.2083, -0.0623, -0.5688,
                                 -0.5475, -0.1604, -0.6197, 0.0946, -0.3589, -0.0746],
    "cifar10-small-cnn-trades": [0.197, -0.0076, 0.287, 0.0535, 0.298, -0.0551, 0.3012, 0.0797, -0.5221, -0.6577,
                                 -0.92, -0.3336, -0.5555, -0.2468, -0.8126, -0.1413],
    # published after the renaming, by the code of its time (issue 12's deciding experiment, CPU run)
    ZOO_AW_FULL: [1.7682, 0.1424, 2.0845, 0.181, 2.2599, 0.1503, 2.1804, 0.1777, -0.5438, -0.8914, -1.9315, -0.5573,
                  -1.0489, -0.0388, -1.5182, -0.4107],
    "cifar10-aw-small-cnn-awnet": [0.1128, 0.0455, 0.2343, 0.0885, 0.3773, 0.0604, 0.4259, 0.0849, -0.5579,
                                   -1.5692, -3.5459, -1.4579, -0.8459, -0.9297, -2.6845, -1.3827],
}


def _reference_inputs() -> torch.Tensor:
    generator = torch.Generator().manual_seed(1234)
    noise = torch.rand(4, 3, 32, 32, generator=generator)
    smooth = torch.nn.functional.interpolate(torch.rand(4, 3, 4, 4, generator=generator), size=32, mode="bilinear",
                                             align_corners=False)
    return torch.cat([noise, smooth])


@pytest.mark.parametrize("name", sorted(REFERENCE_LOGITS))
def test_every_zoo_checkpoint_loads_to_the_same_network_as_before(name):
    assert {item.name for item in manifest.entries() if not item.is_remote} == set(REFERENCE_LOGITS)
    model, metadata = checkpoint.load(f"zoo:{name}")
    assert metadata["architecture"] == manifest.entry(name).architecture
    with torch.no_grad():
        logits = model(_reference_inputs())
    torch.testing.assert_close(logits[:, [1, 7]].flatten(), torch.tensor(REFERENCE_LOGITS[name]), rtol=0, atol=2e-4)


def test_the_zoo_awnet_is_the_low_rank_design_and_says_so(run_cli):
    from model_zoo.aw import AWConv2d, LowRankAWConv2d, aw_layers, routing

    model, metadata = checkpoint.load("zoo:cifar10-aw-small-cnn-awnet")
    assert metadata["architecture"] == "aw-lr-small-cnn" and metadata["migrated_from"] == "aw-small-cnn"
    layers = [layer for _, layer in aw_layers(routing(model).backbone)]
    assert any(isinstance(layer, LowRankAWConv2d) for layer in layers)
    assert not any(isinstance(layer, AWConv2d) for layer in layers)
    assert manifest.entry("cifar10-aw-small-cnn-awnet").design.startswith("AW-Net, low-rank")
    code, _, err = run_cli("zoo", "info", "cifar10-aw-small-cnn-awnet")
    assert code == 0 and "design: AW-Net, low-rank adversarial bank" in " ".join(err.split())
    code, _, err = run_cli("zoo", "list")  # the console is on stderr; cells may wrap
    assert code == 0 and all(word in err for word in ("aw-lr-small-cnn", "two-bank", "low-rank"))


def test_the_zoo_holds_a_full_two_bank_awnet_trained_with_router_evasion(run_cli):
    """The deciding experiment's published AW-Net: every AW layer has two full banks, and the zoo says so."""
    from model_zoo.aw import AWConv2d, LowRankAWConv2d, aw_layers, routing

    model, metadata = checkpoint.load(f"zoo:{ZOO_AW_FULL}")
    assert metadata["architecture"] == "aw-small-cnn" and metadata["router_evasion"] > 0
    convs = [layer for _, layer in aw_layers(routing(model).backbone) if isinstance(layer, AWConv2d | LowRankAWConv2d)]
    assert len(convs) == 4 and all(isinstance(layer, AWConv2d) for layer in convs)  # small-cnn has 4 convs
    assert not torch.equal(convs[0].weight_clean, convs[0].weight_adv)  # two banks, trained apart
    assert manifest.entry(ZOO_AW_FULL).design.startswith("AW-Net, full two-bank")
    code, _, err = run_cli("zoo", "info", ZOO_AW_FULL)
    assert code == 0 and "design: AW-Net, full two-bank" in " ".join(err.split())

import json

import pytest
import torch

import model_zoo
from awbench import checkpoint, zoo
from awbench.errors import CheckpointError, UnknownNameError
from model_zoo import manifest

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
    loaded, metadata = zoo.load_model("tiny")
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
        zoo.load_model("tiny")


def test_unknown_zoo_name_lists_entries(local_zoo):
    with pytest.raises(UnknownNameError, match="tiny"):
        zoo.load_model("nope")


def test_shipped_manifest_entries_are_well_formed_and_verified():
    for item in manifest.entries():
        assert item.architecture in model_zoo.available()
        if not item.is_remote:
            model, metadata = zoo.load_model(item.name)
            assert metadata["architecture"] == item.architecture
            assert metadata["dataset"] == item.dataset and metadata["method"] == item.method


def test_eval_cli_takes_a_zoo_checkpoint(run_cli, data_dir, tmp_path):
    code, out, err = run_cli("eval", "zoo:cifar10-small-cnn-standard", "--attack", "fgsm", "--n-examples", "20",
                             "--data-dir", data_dir, "--out", tmp_path, "--device", "cpu", "--json")
    assert code == 0, err
    assert json.loads(out)["model"] == "small-cnn"

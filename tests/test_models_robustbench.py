"""rb: references through the installed robustbench package (skipped, with the reason, when it is absent)."""

from __future__ import annotations

import pytest
import torch

from awbench import checkpoint
from awbench.errors import CheckpointError
from awbench.models import ModelOptions
from awbench.models.robustbench_source import RobustbenchMissingError, import_robustbench, weights_path

try:
    utils = import_robustbench()
except RobustbenchMissingError as missing:
    pytest.skip(f"robustbench unavailable: {missing} (CI installs the extra)", allow_module_level=True)

MODEL_ID = "Ding2020MMA"  # a WideResNet-28-4: the smallest CIFAR-10 Linf architecture RobustBench loads


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """RobustBench's layout with random weights for MODEL_ID, saved the way RobustBench's files hold them."""
    from robustbench.model_zoo import model_dicts
    from robustbench.model_zoo.enums import BenchmarkDataset, ThreatModel

    torch.manual_seed(0)
    model = model_dicts[BenchmarkDataset.cifar_10][ThreatModel.Linf][MODEL_ID]["model"]()
    state = {key: torch.randn_like(value) * 0.05 if value.is_floating_point() else value
             for key, value in model.state_dict().items()}
    state = {key: value.abs() + 0.5 if "running_var" in key else value for key, value in state.items()}
    folder = tmp_path_factory.mktemp("models")
    path = weights_path(folder, "cifar10", "Linf", MODEL_ID)
    path.parent.mkdir(parents=True)
    torch.save({"state_dict": {f"module.{key}": value for key, value in state.items()}}, path)
    return folder


def test_rb_gives_robustbench_logits(model_dir):
    reference = utils.load_model(MODEL_ID, model_dir=str(model_dir), dataset="cifar10", threat_model="Linf")
    model, metadata = checkpoint.load(f"rb:{MODEL_ID}", "cpu", ModelOptions(model_dir=model_dir))
    x = torch.rand(4, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference(x), rtol=0, atol=0)
        assert model(x).std() > 0  # random weights, not a constant model
    assert metadata["dataset"] == "cifar10" and metadata["norm"] == "Linf" and metadata["eps"] == 8 / 255
    card = metadata["source"]["model_card"]
    assert card["architecture"] == "WideResNet-28-4" and card["venue"] == "ICLR 2020"
    assert 0 < card["published_autoattack_accuracy"] < card["published_clean_accuracy"] < 1
    assert len(metadata["source"]["weights_sha256"]) == 64


def test_rb_finds_weights_through_the_environment(model_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("AWBENCH_MODELS", str(model_dir))
    _, metadata = checkpoint.load(f"rb:cifar10/Linf/{MODEL_ID}", "cpu", ModelOptions(model_dir=tmp_path / "empty"))
    assert metadata["source"]["weights"].startswith(str(model_dir))


def test_missing_weights_offline_say_where(monkeypatch, tmp_path):
    def offline(gdrive_id, path):
        raise ConnectionError("Failed to resolve 'drive.google.com'")

    monkeypatch.setattr(utils, "download_gdrive_new", offline)
    monkeypatch.delenv("AWBENCH_MODELS", raising=False)
    with pytest.raises(CheckpointError) as error:
        checkpoint.load(f"rb:{MODEL_ID}", "cpu", ModelOptions(model_dir=tmp_path))
    message = str(error.value)
    expected = weights_path(tmp_path, "cifar10", "Linf", MODEL_ID)
    assert f"looked for {expected}" in message and f"put the file at {expected}" in message
    assert "drive.google.com" in message and "\n" not in message


def test_unsafe_robustbench_file_is_refused_before_robustbench_reads_it(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("code ran from a weights file",))

    path = weights_path(tmp_path, "cifar10", "Linf", MODEL_ID)
    path.parent.mkdir(parents=True)
    torch.save({"state_dict": {"x": Payload()}}, path)
    with pytest.raises(CheckpointError, match="refused"):
        checkpoint.load(f"rb:{MODEL_ID}", "cpu", ModelOptions(model_dir=tmp_path))


def test_rb_model_evaluates_end_to_end_with_the_leaderboard_threat_model(model_dir, data_dir, run_cli, tmp_path):
    import json

    code, out, err = run_cli("eval", f"rb:{MODEL_ID}", "--model-dir", model_dir, "-a", "fgsm", "--n-examples", "10",
                             "--data-dir", data_dir, "--out", tmp_path / "eval", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["eps"] == 8 / 255 and summary["norm"] == "Linf" and summary["model"] == "WideResNet-28-4"
    assert summary["source"]["model_card"]["model_id"] == MODEL_ID and summary["run"] == f"rb-{MODEL_ID}"
    assert summary["checks"]["outputs_are_logits"]["status"] == "pass"


def test_rb_model_serves_as_an_awnet_teacher(model_dir, monkeypatch):
    from awbench.training.methods.awnet import _frozen_teacher

    monkeypatch.setenv("AWBENCH_MODELS", str(model_dir))
    teacher = _frozen_teacher(f"rb:{MODEL_ID}", torch.device("cpu"))
    assert not teacher.training and not any(p.requires_grad for p in teacher.parameters())


@pytest.mark.parametrize("dataset", ["cifar10", "cifar100"])
def test_models_whose_weights_come_from_timm_are_refused(tmp_path, monkeypatch, dataset):
    from awbench.errors import AwbenchError
    from awbench.models import robustbench_source

    def no_download(*args, **kwargs):
        raise AssertionError("downloaded")

    monkeypatch.setattr(robustbench_source, "_download", no_download)
    with pytest.raises(AwbenchError, match=r"timm.create_model\(pretrained=True\).*could not record") as error:
        checkpoint.load(f"rb:{dataset}/Linf/Debenedetti2022Light_XCiT-S12", "cpu", ModelOptions(model_dir=tmp_path))
    assert "\n" not in str(error.value)

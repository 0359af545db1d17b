import os

import pytest
import torch

import model_zoo
from awbench import checkpoint
from awbench.errors import CheckpointError

pytestmark = pytest.mark.fast  # no data set: synthetic tensors (see conftest)

META = {"architecture": "small-cnn", "num_classes": 10, "in_channels": 3, "mean": [0.5] * 3, "std": [0.2] * 3,
        "dataset": "cifar10", "method": "standard", "norm": "Linf", "eps": 8 / 255, "epoch": 1}


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    model = model_zoo.create("small-cnn", mean=META["mean"], std=META["std"]).eval()
    path = checkpoint.save(tmp_path / "model.pt", model, META)
    return model, path


def test_round_trip_rebuilds_from_metadata_alone(saved):
    model, path = saved
    loaded, metadata = checkpoint.load(path)
    x = torch.rand(4, 3, 32, 32)
    assert torch.equal(model(x), loaded(x))
    assert metadata["architecture"] == "small-cnn" and metadata["awbench_version"]
    assert not loaded.training


def test_run_folder_resolves_to_best(saved, tmp_path):
    _, path = saved
    os.replace(path, tmp_path / "best.pt")
    _, metadata = checkpoint.load(tmp_path)
    assert metadata["checkpoint_path"].endswith("best.pt")


class _Malicious:
    def __reduce__(self):
        return (os.system, ("touch pwned-by-awbench-test",))


def test_malicious_pickle_is_refused_and_not_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    torch.save({"format": "awbench-checkpoint", "payload": _Malicious()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="refused"):
        checkpoint.load(tmp_path / "evil.pt")
    assert not (tmp_path / "pwned-by-awbench-test").exists()


def test_truncated_file_is_refused(saved, tmp_path):
    _, path = saved
    data = path.read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        checkpoint.load(tmp_path / "cut.pt")


def test_foreign_file_is_refused(tmp_path):
    torch.save({"weights": torch.zeros(3)}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not an awbench checkpoint"):
        checkpoint.load(tmp_path / "foreign.pt")


def test_mismatched_state_dict_is_refused(tmp_path):
    model = model_zoo.create("small-cnn")
    checkpoint.save(tmp_path / "m.pt", model, {**META, "architecture": "resnet18"})
    with pytest.raises(CheckpointError, match="do not fit architecture 'resnet18'"):
        checkpoint.load(tmp_path / "m.pt")


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint"):
        checkpoint.load(tmp_path / "nothing.pt")


def test_atomic_write_keeps_old_file_when_writer_dies(tmp_path):
    target = tmp_path / "file.bin"
    target.write_bytes(b"old")

    def dying_writer(handle):
        handle.write(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        checkpoint.atomic_write(target, dying_writer)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.bin"]


def _with_metadata(tmp_path, **changes):
    model = model_zoo.create("small-cnn", num_classes=10, in_channels=3)
    meta = {"architecture": "small-cnn", "num_classes": 10, "in_channels": 3, "mean": [0.0] * 3, "std": [1.0] * 3,
            "dataset": "cifar10"}
    path = checkpoint.save(tmp_path / "odd.pt", model, meta)
    payload = torch.load(path, weights_only=True)
    payload["metadata"].update(changes)
    torch.save(payload, path)
    return path


@pytest.mark.parametrize("changes,needle", [
    ({"num_classes": -1}, "num_classes=-1"),
    ({"in_channels": -3}, "in_channels=-3"),
    ({"num_classes": 0}, "num_classes=0"),
    ({"num_classes": 10**9}, "num_classes=1000000000"),
    ({"in_channels": 10**7}, "in_channels=10000000"),
    ({"num_classes": 10.7}, "not a whole number"),
    ({"num_classes": True}, "not a whole number"),
    ({"num_classes": "10"}, "not a whole number"),
    ({"num_classes": float("nan")}, "not a whole number"),
])
def test_impossible_model_sizes_are_refused_before_anything_is_built(tmp_path, monkeypatch, changes, needle):
    path = _with_metadata(tmp_path, **changes)
    built = []
    real_create = model_zoo.create

    def recording_create(name, **kwargs):  # a size of 10**9 classes must never reach the allocator
        built.append(kwargs)
        assert 1 <= kwargs["num_classes"] <= 100_000 and 1 <= kwargs["in_channels"] <= 1024, kwargs
        return real_create(name, **kwargs)

    monkeypatch.setattr(model_zoo, "create", recording_create)
    with pytest.raises(CheckpointError, match=needle):
        checkpoint.load(path)
    assert built == []


def test_a_whole_float_size_is_read_as_that_number(tmp_path):
    model, metadata = checkpoint.load(_with_metadata(tmp_path, num_classes=10.0))
    assert model(torch.zeros(1, 3, 32, 32)).shape == (1, 10)

import hashlib
import json
import shutil

import numpy as np
import pytest
import torch

from awbench.data import DatasetName, balanced_subset, iterate_batches, load_dataset, search_roots
from awbench.data.embedded import SAMPLE_DIR
from awbench.data.loader import augment
from awbench.errors import DataError, DataNotFoundError, UnknownNameError


def test_search_order_option_alone_else_env_then_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("AWBENCH_DATA", str(tmp_path / "env"))
    assert search_roots(tmp_path / "opt") == [tmp_path / "opt"]  # a folder given is the only place searched
    roots = search_roots()
    assert roots[0] == tmp_path / "env"
    assert roots[1].name == "data" and ".cache" in str(roots[1])


@pytest.mark.full_data
def test_real_cifar10_from_shared_npz(full_data_dir):
    full_test = load_dataset("cifar10", "test", data_dir=full_data_dir / "cifar10")
    assert full_test.images.shape == (10000, 3, 32, 32) and full_test.images.dtype == torch.uint8
    assert torch.equal(full_test.labels.bincount(), torch.full((10,), 1000))
    x, y = next(iterate_batches(full_test, 64))
    assert x.dtype == torch.float32 and 0.0 <= x.min() and x.max() <= 1.0 and x.max() > 0.9


def test_embedded_sample_is_real_balanced_cifar10(cifar_test, cifar_train):
    assert cifar_test.images.shape == (500, 3, 32, 32) and cifar_test.images.dtype == torch.uint8
    assert torch.equal(cifar_test.labels.bincount(), torch.full((10,), 50))
    assert torch.equal(cifar_train.labels.bincount(), torch.full((10,), 200))
    x, _ = next(iterate_batches(cifar_test, 64))
    assert x.dtype == torch.float32 and 0.0 <= x.min() and x.max() <= 1.0 and x.max() > 0.9
    # real photographs, not noise: neighbouring pixels are strongly correlated
    pixels = cifar_test.images.float()
    assert torch.corrcoef(torch.stack([pixels[..., :-1].flatten(), pixels[..., 1:].flatten()]))[0, 1] > 0.8


def test_embedded_sample_is_used_when_nothing_else_is_found(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("AWBENCH_DATA", raising=False)
    monkeypatch.setattr("awbench.data.datasets.DEFAULT_CACHE", tmp_path / "cache")
    data = load_dataset("cifar10", "test")
    assert len(data) == 500 and data.origin == "embedded-sample"
    assert "not full-cifar10 numbers" in capsys.readouterr().err  # said, not silent
    record = data.provenance()
    assert record["origin"] == "embedded-sample" and record["images"] == 500
    assert record["files"][0]["sha256"] == json.loads((SAMPLE_DIR / "sample.json").read_text())["files"][
        "cifar10_test.npz"]["sha256"]
    assert len(load_dataset("cifar10", "train", data_dir="embedded")) == 2000
    with pytest.raises(DataNotFoundError, match="CIFAR-10 only"):
        load_dataset("mnist", "test", data_dir="embedded")


def test_a_changed_embedded_sample_is_an_error(monkeypatch, tmp_path):
    fake = tmp_path / "sample"
    fake.mkdir()
    (fake / "sample.json").write_text(json.dumps({"files": {"cifar10_test.npz": {"sha256": "0" * 64}}}))
    shutil.copy(SAMPLE_DIR / "cifar10_test.npz", fake / "cifar10_test.npz")
    monkeypatch.setattr("awbench.data.embedded.SAMPLE_DIR", fake)
    with pytest.raises(DataError, match="does not match its sha256"):
        load_dataset("cifar10", "test", data_dir="embedded")


def test_an_empty_data_dir_is_not_a_fallback_to_the_env(monkeypatch, tmp_path, data_dir):
    """issue 10 item 8: an existing but empty --data-dir used to read $AWBENCH_DATA silently."""
    monkeypatch.setenv("AWBENCH_DATA", str(data_dir))  # holds the data
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataNotFoundError, match="not found in: " + str(tmp_path / "empty") + r"\."):
        load_dataset("cifar10", "test", data_dir=tmp_path / "empty")


def test_the_data_a_number_used_is_recorded(data_dir, tmp_path):
    data = load_dataset("cifar10", "test", data_dir=data_dir)
    record = data.select(torch.arange(10)).provenance()
    assert record["images"] == 10 and record["origin"] == "folder" and record["dataset"] == "cifar10"
    path = data_dir / "cifar10_test.npz"
    assert record["files"] == [{"path": str(path), "bytes": path.stat().st_size,
                                "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}]


def test_option_folder_wins_over_env(monkeypatch, tmp_path, data_dir):
    x = np.full((20, 32, 32, 3), 7, dtype=np.uint8)
    np.savez(tmp_path / "cifar10_test.npz", x=x, y=np.arange(20) % 10)
    monkeypatch.setenv("AWBENCH_DATA", str(data_dir))
    data = load_dataset("cifar10", "test", data_dir=tmp_path)
    assert len(data) == 20 and int(data.images.max()) == 7


def test_env_used_when_no_option(monkeypatch, data_dir, tmp_path):
    x = np.full((30, 32, 32, 3), 5, dtype=np.uint8)
    (tmp_path / "cifar10").mkdir()
    np.savez(tmp_path / "cifar10" / "cifar10_test.npz", x=x, y=np.arange(30) % 10)
    monkeypatch.setenv("AWBENCH_DATA", str(tmp_path))
    assert len(load_dataset("cifar10", "test")) == 30


def test_torchvision_layout_is_read(tmp_path):
    # What torchvision.datasets.MNIST(root) expects: root/MNIST/raw/*-ubyte
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    images = np.arange(5 * 28 * 28, dtype=np.uint32).astype(np.uint8).reshape(5, 28, 28)
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    header = lambda *v: np.array(v, dtype=">u4").tobytes()  # noqa: E731
    for prefix in ("train", "t10k"):
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(header(0x803, 5, 28, 28) + images.tobytes())
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(header(0x801, 5) + labels.tobytes())
    data = load_dataset("mnist", "test", data_dir=tmp_path)
    assert data.images.shape == (5, 1, 28, 28)
    assert data.labels.tolist() == [3, 1, 4, 1, 5]
    assert torch.equal(data.images[:, 0], torch.from_numpy(images))


def test_missing_data_error_names_folders_and_remedy(monkeypatch, tmp_path):
    monkeypatch.delenv("AWBENCH_DATA", raising=False)
    monkeypatch.setattr("awbench.data.datasets.DEFAULT_CACHE", tmp_path / "cache")
    with pytest.raises(DataNotFoundError) as info:
        load_dataset("cifar100", "test", data_dir=tmp_path / "nowhere")
    message = str(info.value)
    assert str(tmp_path / "nowhere") in message and str(tmp_path / "cache") not in message  # only the folder given
    assert "--data-dir" in message and "AWBENCH_DATA" in message and "awbench data prepare" in message
    with pytest.raises(DataNotFoundError) as info:
        load_dataset("cifar100", "test")
    assert str(tmp_path / "cache") in str(info.value)


def test_unknown_dataset_lists_choices():
    with pytest.raises(UnknownNameError) as info:
        DatasetName.parse("imagenet")
    assert all(name in str(info.value) for name in ("cifar10", "cifar100", "svhn", "mnist"))
    assert "did you mean" not in str(info.value)  # nothing close
    with pytest.raises(UnknownNameError, match=r"\(did you mean 'cifar10'\?\)$"):
        DatasetName.parse("cifar-10")


def test_balanced_subset_is_seeded_balanced_and_disjoint(cifar_test):
    first = balanced_subset(cifar_test.labels, 200, seed=3)
    assert torch.equal(first, balanced_subset(cifar_test.labels, 200, seed=3))
    assert not torch.equal(first, balanced_subset(cifar_test.labels, 200, seed=4))
    assert torch.equal(cifar_test.labels[first].bincount(), torch.full((10,), 20))
    other = balanced_subset(cifar_test.labels, 100, seed=3, exclude=first)
    assert not set(other.tolist()) & set(first.tolist())


def test_augment_keeps_shape_and_changes_pixels():
    images = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).view(2, 3, 8, 8)
    out = augment(images, torch.Generator().manual_seed(0), pad=2)
    assert out.shape == images.shape and not torch.equal(out, images)


@pytest.mark.parametrize("x,y,needle", [
    (np.zeros((20, 32, 32, 3), np.uint8), np.arange(20) % 10 + 1, "labels outside 0..9"),
    (np.zeros((20, 28, 28), np.uint8), np.arange(20) % 10, "expected N x 3 x 32 x 32"),
    (np.zeros((20, 32, 32, 3), np.uint8), np.arange(19) % 10, "20 images but 19 labels"),
])
def test_a_data_file_that_is_not_what_its_name_says_is_refused(tmp_path, x, y, needle):
    np.savez(tmp_path / "cifar10_test.npz", x=x, y=y)
    with pytest.raises(DataError, match=needle):
        load_dataset("cifar10", "test", data_dir=tmp_path)


def test_a_split_missing_classes_loads_with_a_warning(tmp_path, capsys, cifar_test):
    # the first 100 images of a class-sorted file: two classes, not CIFAR-10
    sorted_order = torch.argsort(cifar_test.labels, stable=True)[:100]
    x = cifar_test.images[sorted_order].permute(0, 2, 3, 1).numpy()
    np.savez(tmp_path / "cifar10_test.npz", x=x, y=cifar_test.labels[sorted_order].numpy())
    capsys.readouterr()
    data = load_dataset("cifar10", "test", data_dir=tmp_path)
    assert len(data) == 100
    assert "holds only 2 of the 10 classes" in capsys.readouterr().err
    load_dataset("cifar10", "test", data_dir=cifar_test.source.rsplit("/", 1)[0])  # the whole file: no warning
    assert "warning" not in capsys.readouterr().err


@pytest.mark.parametrize("command", [["train", "cifar10", "--epochs", "1"], ["eval", "zoo:cifar10-small-cnn-standard"]])
def test_a_data_dir_that_does_not_exist_is_an_error_not_a_fallback(run_cli, monkeypatch, tmp_path, data_dir,
                                                                    command):
    monkeypatch.setenv("AWBENCH_DATA", str(data_dir))  # holds the data: a typo must not silently read it
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(*command, "--data-dir", tmp_path / "typo")
    assert code != 0 and err.strip().splitlines() == [f"error: --data-dir {tmp_path / 'typo'} is not a folder "
                                                      "(give the folder that holds the data)"]
    assert not (tmp_path / "runs").exists()


def _fake_torchvision_mnist(root, n=5):
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    images = (np.arange(n * 28 * 28) % 251).astype(np.uint8).reshape(n, 28, 28)
    labels = (np.arange(n) * 3 % 10).astype(np.uint8)
    header = lambda *v: np.array(v, dtype=">u4").tobytes()  # noqa: E731
    for prefix in ("train", "t10k"):
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(header(0x803, n, 28, 28) + images.tobytes())
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(header(0x801, n) + labels.tobytes())
    return images, labels


def test_prepare_turns_torchvision_files_into_npz(run_cli, tmp_path):
    images, labels = _fake_torchvision_mnist(tmp_path / "tv")
    code, _, err = run_cli("data", "prepare", "mnist", "--from", tmp_path / "tv", "--out", tmp_path / "npz")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "npz").iterdir()) == ["mnist_test.npz", "mnist_train.npz"]
    data = load_dataset("mnist", "test", data_dir=tmp_path / "npz")
    assert data.origin == "folder" and torch.equal(data.images[:, 0], torch.from_numpy(images))
    assert data.labels.tolist() == labels.tolist()
    code, _, err = run_cli("data", "prepare", "mnist", "--from", tmp_path / "nothing-here")
    assert code != 0 and err.count("\n") == 1 and "is not a folder" in err
    code, _, err = run_cli("data", "prepare", "cifar10", "--from", tmp_path / "tv", "--out", tmp_path / "x")
    assert code != 0 and "no torchvision cifar10 files" in err and "--download" in err


def test_where_says_which_files_a_command_reads(run_cli, data_dir):
    code, _, err = run_cli("data", "where", "cifar10", "--data-dir", data_dir)
    flat = " ".join(err.split())
    assert code == 0 and "cifar10 train: 2,000 images, folder:" in flat and "cifar10 test: 500 images" in flat
    assert str(data_dir / "cifar10_test.npz") in flat

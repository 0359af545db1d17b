import numpy as np
import pytest
import torch

from awbench.data import DatasetName, balanced_subset, iterate_batches, load_dataset, search_roots
from awbench.data.loader import augment
from awbench.errors import DataError, DataNotFoundError, UnknownNameError


def test_search_order_option_then_env_then_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("AWBENCH_DATA", str(tmp_path / "env"))
    roots = search_roots(tmp_path / "opt")
    assert roots[:2] == [tmp_path / "opt", tmp_path / "env"]
    assert roots[2].name == "data" and ".cache" in str(roots[2])


def test_real_cifar10_from_shared_npz(cifar_test):
    assert cifar_test.images.shape == (10000, 3, 32, 32) and cifar_test.images.dtype == torch.uint8
    assert torch.equal(cifar_test.labels.bincount(), torch.full((10,), 1000))
    x, y = next(iterate_batches(cifar_test, 64))
    assert x.dtype == torch.float32 and 0.0 <= x.min() and x.max() <= 1.0 and x.max() > 0.9


def test_option_folder_wins_over_env(monkeypatch, tmp_path, data_dir):
    x = np.full((20, 32, 32, 3), 7, dtype=np.uint8)
    np.savez(tmp_path / "cifar10_test.npz", x=x, y=np.arange(20) % 10)
    monkeypatch.setenv("AWBENCH_DATA", str(data_dir))
    data = load_dataset("cifar10", "test", data_dir=tmp_path)
    assert len(data) == 20 and int(data.images.max()) == 7


def test_env_used_when_no_option(monkeypatch, data_dir):
    monkeypatch.setenv("AWBENCH_DATA", str(data_dir / "cifar10"))
    assert len(load_dataset("cifar10", "test")) == 10000


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
    assert str(tmp_path / "nowhere") in message and str(tmp_path / "cache") in message
    assert "--data-dir" in message and "AWBENCH_DATA" in message and "--download" in message


def test_unknown_dataset_lists_choices():
    with pytest.raises(UnknownNameError) as info:
        DatasetName.parse("imagenet")
    assert all(name in str(info.value) for name in ("cifar10", "cifar100", "svhn", "mnist"))


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
    # the first 2,000 images of a class-sorted file: two classes, not CIFAR-10
    sorted_order = torch.argsort(cifar_test.labels, stable=True)[:2000]
    x = cifar_test.images[sorted_order].permute(0, 2, 3, 1).numpy()
    np.savez(tmp_path / "cifar10_test.npz", x=x, y=cifar_test.labels[sorted_order].numpy())
    capsys.readouterr()
    data = load_dataset("cifar10", "test", data_dir=tmp_path)
    assert len(data) == 2000
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

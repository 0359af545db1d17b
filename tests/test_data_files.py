"""A corrupt or foreign .npz data file is one clear DataError naming the file, never numpy's traceback."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from conftest import one_line_error

from awbench.data import load_dataset
from awbench.errors import DataError

pytestmark = pytest.mark.fast  # no data set: synthetic tensors (see conftest)


def _good_npz() -> bytes:
    buffer = io.BytesIO()
    rng = np.random.default_rng(0)
    np.savez(buffer, x=rng.integers(0, 255, (20, 32, 32, 3), dtype=np.uint8), y=np.arange(20) % 10)
    return buffer.getvalue()


def _with(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _zip_without_npy() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("x.npy", b"this is not an npy array")
    return buffer.getvalue()


CORRUPT = {
    "random bytes": b"\x00\x01garbage" * 100,  # not a zip: BadZipFile (or numpy's own pickle refusal)
    "truncated": _good_npz()[:5000],  # cut in the middle: BadZipFile / EOFError
    "empty": b"",  # EOFError
    "pickled objects": _with(x=np.array([{"a": 1}] * 20, dtype=object), y=np.arange(20) % 10),  # ValueError
    "missing labels": _with(x=np.zeros((20, 32, 32, 3), dtype=np.uint8)),  # KeyError 'y'
    "not an array inside": _zip_without_npy(),  # ValueError / KeyError from the npy reader
    "flat images": _with(x=np.zeros((20, 5), dtype=np.uint8), y=np.arange(20) % 10),  # cannot be NCHW
    "text labels": _with(x=np.zeros((20, 32, 32, 3), dtype=np.uint8), y=np.array(["cat"] * 20)),
}


@pytest.mark.parametrize("kind", sorted(CORRUPT))
def test_a_corrupt_npz_is_one_data_error_naming_the_file(tmp_path, kind):
    (tmp_path / "cifar10_test.npz").write_bytes(CORRUPT[kind])
    with pytest.raises(DataError) as error:
        load_dataset("cifar10", "test", data_dir=tmp_path)
    message = str(error.value)
    assert "cifar10_test.npz" in message and "\n" not in message


def test_a_good_npz_still_loads(tmp_path):
    (tmp_path / "cifar10_test.npz").write_bytes(_good_npz())
    data = load_dataset("cifar10", "test", data_dir=tmp_path)
    assert tuple(data.images.shape) == (20, 3, 32, 32) and int(data.labels.max()) == 9


def test_a_corrupt_npz_is_one_line_on_the_command_line(run_cli, tmp_path):
    (tmp_path / "cifar10_train.npz").write_bytes(CORRUPT["truncated"])
    code, _, err = run_cli("train", "cifar10", "--data-dir", tmp_path, "--out", tmp_path / "runs", "--epochs", "1",
                           "--device", "cpu", "--method", "standard")
    assert "cifar10_train.npz" in one_line_error(code, err)
    assert not (tmp_path / "runs").exists() or list((tmp_path / "runs").iterdir()) == []

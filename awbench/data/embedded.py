"""The CIFAR-10 sample shipped inside the package: 2,000 training and 500 test images, class-balanced.

It lets `awbench demo` and the test suite run on a fresh machine with no network and no data folder. Its
numbers are numbers on this sample, never on CIFAR-10: every result that used it says
`"origin": "embedded-sample"` in its data record. How it was cut (source, seed, rows, hashes) is in
sample/sample.json; scripts/make_embedded_sample.py cuts it again.
"""

from __future__ import annotations

import json
from pathlib import Path

from awbench.errors import DataError
from awbench.files import cached_sha256_of as file_sha256

SAMPLE_DIR = Path(__file__).resolve().parent / "sample"
SAMPLE_SIZES = {"train": 2000, "test": 500}
EMBEDDED = "embedded"  # the --data-dir value that names the sample itself
ORIGIN = "embedded-sample"

def sample_file(name: str, split: str) -> Path | None:
    """The sample's file for (dataset, split), or None: the package holds a sample of CIFAR-10 only."""
    path = SAMPLE_DIR / f"{name}_{split}.npz"
    return path if path.is_file() else None


def verified_sample_file(name: str, split: str) -> Path | None:
    """`sample_file`, after checking its sha256 against sample.json (a changed sample is an error)."""
    path = sample_file(name, split)
    if path is None:
        return None
    try:
        expected = json.loads((SAMPLE_DIR / "sample.json").read_text())["files"][path.name]["sha256"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DataError(f"the embedded sample's record {SAMPLE_DIR / 'sample.json'} is unreadable ({error}); "
                        "reinstall awbench") from None
    if file_sha256(path) != expected:
        raise DataError(f"the embedded sample {path} does not match its sha256 in sample.json; reinstall awbench")
    return path

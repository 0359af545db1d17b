"""Datasets by name, found on disk in torchvision's layout or as prepared `.npz` arrays.

Where to look: a `--data-dir` given is the only place searched (`--data-dir embedded` names the CIFAR-10 sample
shipped in the package). Without one: `AWBENCH_DATA`, then `~/.cache/awbench/data`, and for CIFAR-10 at last
the embedded sample (with a warning: its numbers are not CIFAR-10 numbers). Every ImageData knows where it
came from (`provenance()`: origin, files with size and sha256), and summaries and configs record it.
Images are kept as uint8 NCHW tensors; models receive float images in [0, 1].
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from awbench.console import console
from awbench.data.embedded import EMBEDDED, ORIGIN, file_sha256, verified_sample_file
from awbench.data.names import DatasetName
from awbench.errors import DataError, DataNotFoundError

DEFAULT_CACHE = Path.home() / ".cache" / "awbench" / "data"


@dataclass(frozen=True)
class DatasetSpec:
    num_classes: int
    in_channels: int
    image_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    torchvision_class: str


SPECS: dict[DatasetName, DatasetSpec] = {
    DatasetName.CIFAR10: DatasetSpec(10, 3, 32, (0.4914, 0.4822, 0.4465), (0.2471, 0.2435, 0.2616), "CIFAR10"),
    DatasetName.CIFAR100: DatasetSpec(100, 3, 32, (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762), "CIFAR100"),
    DatasetName.SVHN: DatasetSpec(10, 3, 32, (0.4377, 0.4438, 0.4728), (0.1980, 0.2010, 0.1970), "SVHN"),
    DatasetName.MNIST: DatasetSpec(10, 1, 28, (0.1307,), (0.3081,), "MNIST"),
}


@dataclass
class ImageData:
    """Images (uint8, N x C x H x W) and labels (int64, N) held in memory."""

    images: torch.Tensor
    labels: torch.Tensor
    name: DatasetName
    split: str
    source: str
    origin: str = "folder"  # "folder" (an .npz file), "torchvision" (its layout), "embedded-sample"
    files: tuple[Path, ...] = field(default_factory=tuple)  # the files read (for the record)
    derived_from: str | None = None  # an .npz cut from another data set says which (its `source` array)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def spec(self) -> DatasetSpec:
        return SPECS[self.name]

    def select(self, indices: torch.Tensor) -> ImageData:
        return ImageData(self.images[indices], self.labels[indices], self.name, self.split, self.source,
                         self.origin, self.files, self.derived_from)

    def provenance(self) -> dict[str, object]:
        """Which data a number used: dataset, split, origin, images used, and each file read with size and sha256."""
        record: dict[str, object] = {
            "dataset": self.name.value, "split": self.split, "origin": self.origin, "source": self.source,
            "images": len(self),
            "files": [{"path": str(path), "bytes": path.stat().st_size, "sha256": file_sha256(path)}
                      for path in self.files if path.is_file()],
        }
        if self.derived_from:
            record["derived_from"] = self.derived_from
        return record

    def as_float(self, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """All images as float in [0, 1] and labels, on `device`."""
        return self.images.to(device).float().div_(255), self.labels.to(device)


def is_embedded(data_dir: str | Path | None) -> bool:
    return data_dir is not None and str(data_dir) == EMBEDDED


def search_roots(data_dir: str | Path | None = None) -> list[Path]:
    """The folders searched for data: a --data-dir given alone, else $AWBENCH_DATA and the default cache."""
    if data_dir:
        return [Path(data_dir).expanduser()]
    roots: list[Path] = []
    if os.environ.get("AWBENCH_DATA"):
        roots.append(Path(os.environ["AWBENCH_DATA"]).expanduser())
    roots.append(DEFAULT_CACHE)
    return roots


def _npz_candidates(root: Path, name: DatasetName, split: str) -> list[Path]:
    file = f"{name.value}_{split}.npz"
    return [root / file, root / name.value / file]


def _from_npz(path: Path, name: DatasetName, split: str, origin: str = "folder") -> ImageData:
    try:  # a truncated, pickled or foreign file: one line naming it, not numpy's traceback
        with np.load(path, allow_pickle=False) as arrays:
            x, y = arrays["x"], arrays["y"]
            derived_from = str(arrays["source"]) if "source" in arrays.files else None
        images = torch.from_numpy(np.ascontiguousarray(x))
        images = images.unsqueeze(1) if images.ndim == 3 else images.permute(0, 3, 1, 2).contiguous()
        labels = torch.from_numpy(y.astype(np.int64))
    except (OSError, ValueError, KeyError, EOFError, TypeError, RuntimeError, zipfile.BadZipFile) as error:
        detail = " ".join(str(error).split())[:160]
        raise DataError(f"cannot read {path}: not an .npz of image arrays 'x' and labels 'y' "
                        f"({type(error).__name__}: {detail})") from None
    return ImageData(images, labels, name, split, str(path), origin, (path,), derived_from)


def embedded_sample(name: DatasetName, split: str) -> ImageData | None:
    """The package's sample of `name` (CIFAR-10 only), checked against its recorded sha256; else None."""
    path = verified_sample_file(name.value, split)
    if path is None:
        return None
    data = _from_npz(path, name, split, origin=ORIGIN)
    data.source = f"embedded {name.value} sample ({len(data):,} {split} images)"
    return data


def _from_torchvision(root: Path, name: DatasetName, split: str, download: bool) -> ImageData | None:
    import torchvision.datasets as tvd

    cls = getattr(tvd, SPECS[name].torchvision_class)
    kwargs = {"split": split} if name is DatasetName.SVHN else {"train": split == "train"}
    for folder in (root, root / name.value):
        try:
            dataset = cls(str(folder), download=download and folder == root, **kwargs)
        except (RuntimeError, FileNotFoundError, OSError):
            continue
        data = dataset.data
        images = torch.as_tensor(np.asarray(data))
        if name is DatasetName.MNIST:
            images = images.unsqueeze(1)
        elif name is not DatasetName.SVHN:  # CIFAR stores HWC; SVHN is already CHW
            images = images.permute(0, 3, 1, 2)
        labels = dataset.labels if name is DatasetName.SVHN else dataset.targets
        return ImageData(images.contiguous(), torch.as_tensor(np.asarray(labels), dtype=torch.int64),
                         name, split, str(folder), "torchvision")
    return None


def check_data_dir(data_dir: str | Path | None, download: bool = False) -> None:
    """A --data-dir the user typed must exist (unless it is where a download goes, or names the embedded
    sample): it is the only place searched, and a typo deserves its own message."""
    if data_dir is None or download or is_embedded(data_dir):
        return
    if not Path(data_dir).expanduser().is_dir():
        raise DataNotFoundError(f"--data-dir {data_dir} is not a folder (give the folder that holds the data)")


def validated(data: ImageData) -> ImageData:
    """`data` if its images and labels are what its dataset's name promises; DataError otherwise.

    A split that lacks some classes (a file cut from a class-sorted array, say) loads with a warning: every
    accuracy measured on it would silently mean something else.
    """
    spec, where = data.spec, f"{data.name.value} ({data.split}) in {data.source}"
    expected = (spec.in_channels, spec.image_size, spec.image_size)
    if data.images.ndim != 4 or tuple(data.images.shape[1:]) != expected or data.images.dtype != torch.uint8:
        raise DataError(f"{where} holds images of shape {tuple(data.images.shape)} ({data.images.dtype}); "
                        f"expected N x {' x '.join(map(str, expected))} uint8")
    if len(data.labels) != len(data.images):
        raise DataError(f"{where} holds {len(data.images)} images but {len(data.labels)} labels")
    if len(data.labels) and not (0 <= int(data.labels.min()) and int(data.labels.max()) < spec.num_classes):
        raise DataError(f"{where} has labels outside 0..{spec.num_classes - 1} "
                        f"(min {int(data.labels.min())}, max {int(data.labels.max())})")
    present = len(torch.unique(data.labels))
    if present < spec.num_classes:
        console.print(f"[yellow]warning:[/] {where} holds only {present} of the {spec.num_classes} classes")
    return data


def load_dataset(
    name: str | DatasetName,
    split: str = "train",
    *,
    data_dir: str | Path | None = None,
    download: bool = False,
) -> ImageData:
    """Load a whole split ('train' or 'test') of dataset `name`.

    With `data_dir`, from that folder only (`"embedded"`: the package's CIFAR-10 sample); without, from the
    first of $AWBENCH_DATA and the cache that holds it, else (CIFAR-10, no download asked) from the sample.
    """
    name = DatasetName.parse(name) if not isinstance(name, DatasetName) else name
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    if is_embedded(data_dir):
        sample = embedded_sample(name, split)
        if sample is None:
            raise DataNotFoundError(f"the embedded sample holds CIFAR-10 only, not {name.value}; give --data-dir "
                                    f"FOLDER with {name.value}_{split}.npz (see: awbench data prepare --help)")
        return validated(sample)
    roots = search_roots(data_dir)
    for root in roots:
        for path in _npz_candidates(root, name, split):
            if path.is_file():
                return validated(_from_npz(path, name, split))
        found = _from_torchvision(root, name, split, download=False)
        if found is not None:
            return validated(found)
    if download:
        target = roots[0]
        try:
            found = _from_torchvision(target, name, split, download=True)
        except Exception as error:  # noqa: BLE001  (offline: urllib raises many kinds)
            raise DataNotFoundError(f"could not download {name.value} into {target}: {error}") from None
        if found is not None:
            return validated(found)
    if not data_dir:
        sample = embedded_sample(name, split)
        if sample is not None:
            console.print(f"[yellow]note:[/] {name.value} is not in {', '.join(str(r) for r in roots)}; using the "
                          f"{sample.source} shipped with awbench: its numbers are not full-{name.value} numbers "
                          "(full data: --data-dir FOLDER or AWBENCH_DATA; see awbench data prepare --help)",
                          soft_wrap=True, markup=True, highlight=False)
            return validated(sample)
    searched = ", ".join(str(r) for r in roots)
    raise DataNotFoundError(
        f"{name.value} ({split}) not found in: {searched}. Put {name.value}_{split}.npz there (awbench data "
        f"prepare {name.value} --from FOLDER converts torchvision's {SPECS[name].torchvision_class} files, "
        f"--download fetches them when online), or point --data-dir or AWBENCH_DATA at a folder holding it."
    )


def balanced_subset(labels: torch.Tensor, size: int, seed: int, exclude: torch.Tensor | None = None) -> torch.Tensor:
    """Indices of a fixed, seeded subset with (as near as possible) equal counts per class."""
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(labels), generator=generator)
    if exclude is not None and len(exclude):
        keep = torch.ones(len(labels), dtype=torch.bool)
        keep[exclude] = False
        order = order[keep[order]]
    classes = torch.unique(labels)
    size = min(size, len(order))
    per_class = {int(c): size // len(classes) for c in classes}
    for c in classes[: size % len(classes)]:
        per_class[int(c)] += 1
    picked: list[torch.Tensor] = []
    for c in classes:
        members = order[labels[order] == c]
        picked.append(members[: per_class[int(c)]])
    chosen = torch.cat(picked)
    if len(chosen) < size:  # a class too small for its share: fill from the rest, still seeded
        rest = order[~torch.isin(order, chosen)]
        chosen = torch.cat([chosen, rest[: size - len(chosen)]])
    return chosen.sort().values

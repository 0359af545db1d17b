"""`awbench data prepare`: turn torchvision's files (found in a folder, or downloaded) into the `.npz` arrays
awbench reads fastest: NAME_train.npz and NAME_test.npz with uint8 NHWC `x`, int64 `y` and `source`."""

from __future__ import annotations

import socket
from pathlib import Path

from awbench.console import console
from awbench.data.datasets import DatasetName, ImageData, _from_torchvision, validated
from awbench.data.subsets import save_images
from awbench.errors import DataNotFoundError

DOWNLOAD_TIMEOUT_S = 30  # per socket operation: offline, a download fails instead of hanging


def prepare_dataset(name: str | DatasetName, out: Path, *, source: Path | None = None,
                    download: bool = False) -> list[Path]:
    """Write out/NAME_{train,test}.npz from torchvision's layout in `source` (or downloaded into it, or into
    out/torchvision when no source is given); return the files written."""
    name = DatasetName.parse(name) if not isinstance(name, DatasetName) else name
    if source is None and not download:
        raise DataNotFoundError("give --from FOLDER (torchvision's files) or --download")
    if source is not None and not download and not source.is_dir():
        raise DataNotFoundError(f"--from {source} is not a folder")
    source = source if source is not None else out / "torchvision"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for split in ("train", "test"):
        data = _read(name, split, source, download)
        path = out / f"{name.value}_{split}.npz"
        save_images(path, data, compressed=True)
        console.print(f"wrote {path} ({len(data)} images)", highlight=False)
        written.append(path)
    return written


def _read(name: DatasetName, split: str, source: Path, download: bool) -> ImageData:
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        found = _from_torchvision(source, name, split, download=download)
    except Exception as error:  # noqa: BLE001  (offline: urllib raises many kinds)
        raise DataNotFoundError(f"could not download {name.value} into {source}: {error}") from None
    finally:
        socket.setdefaulttimeout(previous)
    if found is None:
        hint = "" if download else " (or pass --download when online)"
        raise DataNotFoundError(f"no torchvision {name.value} files in {source} or {source / name.value}{hint}")
    return validated(found)

"""Fetching zoo checkpoints: resolve a manifest entry to a local file, verify its sha256, then load it.

Kept apart from loading (awbench.checkpoint, which resolves `zoo:NAME` here before it reads a file) and from
the manifest (model_zoo.manifest): a file whose hash does not match is never handed on.
"""

from __future__ import annotations

from pathlib import Path

import torch

from awbench.errors import AwbenchError, CheckpointError
from awbench.files import sha256_of
from model_zoo import manifest
from model_zoo.manifest import ZooEntry, entry

CACHE = Path.home() / ".cache" / "awbench" / "checkpoints"


def fetch(item: ZooEntry, cache: Path = CACHE) -> Path:
    """Local path of the entry's file (downloaded into `cache` if remote), after checking its sha256."""
    if item.is_remote:
        path = cache / f"{item.name}.pt"
        if not path.is_file():
            cache.mkdir(parents=True, exist_ok=True)
            try:
                torch.hub.download_url_to_file(item.file, str(path), progress=True)
            except Exception as error:  # noqa: BLE001  (network errors come in many types)
                raise AwbenchError(
                    f"could not download zoo checkpoint '{item.name}' from {item.file}: {error}"
                ) from None
    else:
        path = manifest.MANIFEST_PATH.parent / item.file
        if not path.is_file():
            raise AwbenchError(f"zoo checkpoint '{item.name}' is missing its file {path}")
    actual = sha256_of(path)
    if actual != item.sha256:
        raise CheckpointError(f"zoo checkpoint '{item.name}' failed its sha256 check ({actual[:12]}... != "
                              f"{item.sha256[:12]}...); refusing to load {path}")
    return path


def resolve_checkpoint(reference: str) -> Path:
    """The file a checkpoint reference names: `zoo:NAME` (a manifest entry, fetched and verified), else the path."""
    if reference.startswith("zoo:"):
        return fetch(entry(reference[4:]))
    return Path(reference)

"""Fetching zoo checkpoints: resolve a manifest entry to a local file, verify its sha256, then load it.

Kept apart from loading (awbench.checkpoint) and from the manifest (model_zoo.manifest): a file whose hash
does not match is never loaded.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from torch import nn

from awbench import checkpoint
from awbench.errors import AwbenchError, CheckpointError
from model_zoo import manifest
from model_zoo.manifest import ZooEntry, entry

CACHE = Path.home() / ".cache" / "awbench" / "checkpoints"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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


def load_model(name: str, device: torch.device | str = "cpu") -> tuple[nn.Module, dict]:
    """Load zoo checkpoint `name` (verified), as `awbench.checkpoint.load` does for a file."""
    return checkpoint.load(fetch(entry(name)), device)


def resolve_checkpoint(reference: str) -> Path:
    """A checkpoint reference: an existing path, or `zoo:NAME` for a manifest entry."""
    if reference.startswith("zoo:"):
        return fetch(entry(reference[4:]))
    return Path(reference)

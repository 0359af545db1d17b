"""The manifest of published checkpoints (model_zoo/manifest.json), kept apart from the architectures.

An entry names its architecture (for an AW-Net also its design: `aw-*` full two-bank, `aw-lr-*` low-rank;
`ZooEntry.design` says it in words), dataset, threat model, training method, where the file is (a path
relative to model_zoo/, or a URL), its sha256, and the accuracies reported for it (with how they were measured).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model_zoo.errors import ModelZooError, UnknownNameError

MANIFEST_PATH = Path(__file__).with_name("manifest.json")


@dataclass(frozen=True)
class ZooEntry:
    name: str
    architecture: str
    dataset: str
    threat_model: str  # e.g. "Linf" or "L2"
    eps: float
    method: str
    file: str  # relative to model_zoo/ or an http(s) URL
    sha256: str
    reported: dict[str, Any] = field(default_factory=dict)  # e.g. {"clean_accuracy": .., "pgd20_accuracy": ..}
    notes: str = ""

    @property
    def design(self) -> str:
        """What the checkpoint's filters are: static, or which AW-Net design (from the architecture's name)."""
        from model_zoo.aw.options import describe_design  # late: importing model_zoo.aw registers architectures

        return describe_design(self.architecture)

    @property
    def is_remote(self) -> bool:
        return self.file.startswith(("http://", "https://"))


def entries(path: Path | None = None) -> list[ZooEntry]:
    """All manifest entries, in file order (of `path`, default model_zoo/manifest.json)."""
    path = path or MANIFEST_PATH
    try:
        raw = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ModelZooError(f"cannot read the zoo manifest {path}: {error}") from None
    return [ZooEntry(**item) for item in raw.get("checkpoints", [])]


def entry(name: str, path: Path | None = None) -> ZooEntry:
    found = {item.name: item for item in entries(path)}
    if name not in found:
        raise UnknownNameError("zoo checkpoint", name, found)
    return found[name]

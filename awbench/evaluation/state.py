"""Resumable progress of an evaluation: one small JSON file in the output folder, rewritten atomically.

After every unit of work (a batch; a chunk of examples for AutoAttack) the per-sample results of that unit
are stored under its attack. Evaluating again into the same --out skips every stored unit whose attack
settings and examples match, so a killed run resumes without redoing finished work. Settings that change
what every number means (model, examples, threat model, seed, batch size, cascade) form the fingerprint;
a folder holding another evaluation's state is refused rather than silently mixed.

Each stored unit carries a sha256 of its own results. A unit whose checksum is missing or does not match (the
file was edited, or damaged on disk) is not trusted: it is recomputed, with a note saying so. The checksum
catches accidents, not forgery: anyone able to edit the file can recompute it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from rich.markup import escape

from awbench.console import console
from awbench.errors import AwbenchError
from awbench.files import atomic_write
from awbench.run_layout import EVALUATION_STATE

STATE_FORMAT = 1


CHECKSUM = "sha256"


def canonical(value: Any) -> Any:
    """`value` as it reads back from JSON (tuples become lists...), so stored and new settings compare equal."""
    return json.loads(json.dumps(value))


def unit_checksum(record: dict[str, Any]) -> str:
    """sha256 of a unit's results (every field but the checksum itself), in a canonical JSON form."""
    body = {key: value for key, value in record.items() if key != CHECKSUM}
    return hashlib.sha256(json.dumps(body, sort_keys=True, allow_nan=True).encode()).hexdigest()


class EvaluationState:
    def __init__(self, path: Path | None, fingerprint: dict[str, Any], attacks: dict[str, Any] | None = None):
        self.path, self.fingerprint = path, canonical(fingerprint)
        self.attacks: dict[str, Any] = attacks or {}  # name -> {"settings": {...}, "units": {"0": {...}}}

    @classmethod
    def open(cls, folder: Path | None, fingerprint: dict[str, Any]) -> EvaluationState:
        """The state stored in `folder` (when it matches `fingerprint`), or a fresh one."""
        if folder is None:
            return cls(None, fingerprint)
        path = Path(folder) / EVALUATION_STATE
        if not path.is_file():
            return cls(path, fingerprint)
        try:
            stored = json.loads(path.read_text())
            matches = stored["format"] == STATE_FORMAT and stored["fingerprint"] == canonical(fingerprint)
            attacks = stored["attacks"]
            if not isinstance(attacks, dict):
                raise TypeError
        except (OSError, ValueError, KeyError, TypeError):
            raise AwbenchError(f"{path} is unreadable; delete it to start this evaluation afresh") from None
        if not matches:
            raise AwbenchError(
                f"{folder} holds an evaluation with other settings (model, examples, threat model, seed, amp, batch "
                f"size or cascade); choose another --out, or delete {path.name} there to start afresh"
            )
        return cls(path, fingerprint, attacks)

    def unit(self, attack: str, settings: dict[str, Any], index: int, positions: list[int]) -> dict[str, Any] | None:
        """The stored result of unit `index` of `attack`, if it was run with these settings on these examples."""
        entry = self.attacks.get(attack)
        if not isinstance(entry, dict) or entry.get("settings") != canonical(settings):
            return None
        record = entry["units"].get(str(index)) if isinstance(entry.get("units"), dict) else None
        if not isinstance(record, dict) or record.get("positions") != positions:
            return None
        if record.get(CHECKSUM) != unit_checksum(record):
            console.print(f"[yellow]note:[/] {escape(str(self.path))}: stored unit {index} of {escape(attack)} "
                          "does not match its checksum (edited or damaged); recomputing it", soft_wrap=True)
            return None
        return {key: value for key, value in record.items() if key != CHECKSUM}

    def store(self, attack: str, settings: dict[str, Any], index: int, record: dict[str, Any]) -> None:
        settings = canonical(settings)
        entry = self.attacks.get(attack)
        if not isinstance(entry, dict) or entry.get("settings") != settings or not isinstance(entry.get("units"), dict):
            entry = self.attacks[attack] = {"settings": settings, "units": {}}
        record = canonical(record)
        entry["units"][str(index)] = {**record, CHECKSUM: unit_checksum(record)}
        self._write()

    def _write(self) -> None:
        if self.path is None:
            return
        text = json.dumps({"format": STATE_FORMAT, "fingerprint": self.fingerprint, "attacks": self.attacks})
        atomic_write(self.path, lambda handle: handle.write(text.encode()))

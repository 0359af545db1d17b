"""The evaluation record: what `awbench eval` writes as summary.json, one typed definition with to/from JSON.

Built once by `evaluate_checkpoint`; read back by compare, export and the scripts through `from_json`, which
is forgiving and honest: a field holding something impossible (an accuracy outside [0, 1], a negative budget)
is dropped with a warning naming the file, never trusted. Summaries written before the record existed
(schema_version 0: no such key) load the same way; unknown keys are kept as they are (`extra`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from awbench.errors import AwbenchError
from awbench.run_layout import summary_path

SCHEMA_VERSION = 1
MAX_EXAMPLES = 10**9  # more examples than any test set holds: a summary claiming more is corrupt
# Written only when present (older or other evaluations lack them); every other field is always written.
OPTIONAL = ("n_examples_requested", "resumed_seconds", "regime_bounds", "source", "curve", "eps_sweep")

Warn = Callable[[str], None]


class RecordError(AwbenchError):
    """A JSON file that is not an evaluation summary."""


@dataclass
class EvaluationRecord:
    """One evaluation: what was evaluated, on which examples, under which budget, and what survived."""

    checkpoint: Any = None
    model: Any = None
    method: Any = None
    run: Any = None
    dataset: Any = None
    split: Any = None
    n_examples: int | None = None
    n_examples_requested: int | None = None
    norm: Any = None
    eps: float = math.nan
    seed: Any = None
    device: Any = None
    batch_size: Any = None
    versions: Any = None
    data: Any = None  # origin and files of the examples (awbench.data provenance)
    clean_accuracy: float = math.nan
    robust_accuracy: dict[str, float] = field(default_factory=dict)
    worst_case_accuracy: float = math.nan
    checks: dict[str, Any] = field(default_factory=dict)  # name -> {status: pass|fail|flag, detail}
    seconds: Any = field(default_factory=dict)
    details: Any = field(default_factory=dict)  # attack -> {attacked, settings (its describe()), ...}
    resumed_seconds: Any = None
    regime_bounds: Any = None
    dynamic: Any = None
    amp: Any = None
    compiled: Any = None
    attacks: Any = None
    cascade: Any = None
    per_attack_accuracy_means: Any = None
    out: Any = None
    source: Any = None
    pin_signal: Any = None
    curve: Any = None
    intervals: Any = None
    eps_sweep: Any = None
    extra: dict[str, Any] = field(default_factory=dict)  # keys this version does not know, kept as they are
    schema_version: int = SCHEMA_VERSION

    def to_json(self) -> dict[str, Any]:
        """The summary.json object (NaN accuracies of a record read from a damaged file become null)."""
        payload: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name == "extra" or (item.name in OPTIONAL and value is None):
                continue
            payload[item.name] = None if isinstance(value, float) and math.isnan(value) else value
        schema = payload.pop("schema_version")
        return {**payload, **self.extra, "schema_version": schema}

    def write(self, folder: str | Path) -> None:
        """Write (atomically) folder/summary.json."""
        from awbench.files import atomic_write

        text = json.dumps(self.to_json(), indent=2)
        atomic_write(summary_path(folder), lambda handle: handle.write(text.encode()))

    @classmethod
    def from_json(cls, payload: Any, *, source: str = "summary", warn: Warn | None = None) -> EvaluationRecord:
        """A record from a summary.json object; impossible values are dropped with a warning through `warn`.

        Raises RecordError when `payload` is not an evaluation summary at all."""
        warn = warn or (lambda message: None)
        if not isinstance(payload, dict):
            raise RecordError(f"expected a JSON object, found {type(payload).__name__}")
        robust = payload.get("robust_accuracy")
        if "clean_accuracy" not in payload and not robust:
            raise RecordError("not an awbench evaluation summary (no 'clean_accuracy')")
        if robust is not None and not isinstance(robust, dict):
            warn(f"{source}: ignored 'robust_accuracy' (expected an object of attack: fraction)")
            robust = {}
        checked = {str(attack): fraction(value, f"robust_accuracy[{attack!r}]", source, warn)
                   for attack, value in (robust or {}).items()}
        known = {item.name for item in fields(cls)} - {"extra"}
        values = {key: value for key, value in payload.items() if key in known}
        values.update(
            schema_version=payload.get("schema_version", 0),
            robust_accuracy={attack: value for attack, value in checked.items() if not math.isnan(value)},
            clean_accuracy=fraction(payload.get("clean_accuracy"), "clean_accuracy", source, warn),
            worst_case_accuracy=fraction(payload.get("worst_case_accuracy"), "worst_case_accuracy", source, warn),
            eps=budget(payload.get("eps"), source, warn),
            n_examples=example_count(payload.get("n_examples"), source, warn),
            checks=self_checks(payload.get("checks"), source, warn),
        )
        return cls(**values, extra={key: value for key, value in payload.items() if key not in known})

    @classmethod
    def read(cls, folder: str | Path, warn: Warn | None = None) -> EvaluationRecord:
        """The record in folder/summary.json (RecordError when missing, unreadable or no summary)."""
        path = summary_path(folder)
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as error:
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise RecordError(f"{path}: not readable JSON ({reason})") from None
        return cls.from_json(payload, source=str(path), warn=warn)


def number_or_nan(value: Any) -> float:
    """`value` as a float when it is a JSON number (not a bool); NaN otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return math.nan
    try:
        return float(value)
    except OverflowError:  # an int beyond float's range
        return math.inf if value > 0 else -math.inf


def whole_number_or_none(value: Any) -> int | None:
    """`value` as an int if it is a whole number that fits a 64-bit column; None otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return None
    return int(value) if abs(value) <= MAX_EXAMPLES else None


def fraction(value: Any, what: str, source: str, warn: Warn) -> float:
    """An accuracy as a float in [0, 1], or NaN (with a warning if it is anything else than absent)."""
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        warn(f"{source}: ignored {what} = {value!r} (expected a fraction in [0, 1])")
        return math.nan
    return float(value)


def example_count(value: Any, source: str, warn: Warn) -> int | None:
    """A number of evaluated examples (a whole number in 1..MAX_EXAMPLES), or None (with a warning)."""
    if value is None:
        return None
    count = whole_number_or_none(value)
    if count is None or not 1 <= count <= MAX_EXAMPLES:
        warn(f"{source}: ignored n_examples = {value!r:.40} (expected a whole number in 1..{MAX_EXAMPLES:,})")
        return None
    return count


def self_checks(value: Any, source: str, warn: Warn) -> dict[str, Any]:
    """The self-checks {name: {"status", "detail"}}; an entry of another shape reads as status "unreadable"
    (never as a pass), with a warning."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        warn(f"{source}: ignored 'checks' = {value!r:.40} (expected an object of name: {{status, detail}})")
        return {"checks": {"status": "unreadable", "detail": repr(value)[:80]}}
    checks = {}
    for name, check in value.items():
        checks[name] = check
        if not isinstance(check, dict) or not isinstance(check.get("status"), str):
            warn(f"{source}: checks[{name!r}] = {check!r:.40} is unreadable (expected {{status, detail}})")
            checks[name] = {"status": "unreadable", "detail": repr(check)[:80]}
    return checks


def budget(value: Any, source: str, warn: Warn) -> float:
    """An attack budget eps (a finite number >= 0), or NaN (with a warning if it is anything else)."""
    if value is None:
        return math.nan
    number = number_or_nan(value)
    if not 0.0 <= number < math.inf:
        warn(f"{source}: ignored eps = {value!r:.40} (expected a finite number >= 0)")
        return math.nan
    return number

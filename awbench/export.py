"""`awbench export EVAL_DIR --format robustbench`: an evaluation's summary.json in another project's format.

RobustBench's model_info JSON (model_info/<dataset>/<threat_model>/<MODEL_ID>.json in its repository) holds
link, name, authors, additional_data, number_forward_passes, dataset, venue, architecture, eps ("8/255"),
clean_acc, reported and autoattack_acc, accuracies as percentage strings with two decimals ("89.69").
What awbench cannot know (the paper, its authors, its own number) is left null and named, for the user.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from awbench.errors import AwbenchError, UnknownNameError
from awbench.evaluation.record import EvaluationRecord
from awbench.files import atomic_write
from awbench.run_layout import evaluation_folder, summary_path

ROBUSTBENCH_FIELDS = ("link", "name", "authors", "additional_data", "number_forward_passes", "dataset", "venue",
                      "architecture", "eps", "clean_acc", "reported", "autoattack_acc")
FULL_TEST_SET = 10_000


@dataclass
class Export:
    """The exported record, the fields left for the user, and what the reader should know about it."""

    record: dict[str, Any]
    missing: list[str]
    notes: list[str] = field(default_factory=list)
    path: Path | None = None


def read_record(eval_dir: str | Path) -> EvaluationRecord:
    """The evaluation in `eval_dir` (a folder or its summary.json); any damaged field is a one-line error."""
    path = summary_path(eval_dir)
    if not path.is_file():
        raise AwbenchError(f"no summary.json in {Path(eval_dir)}; give an evaluation folder written by awbench eval")

    def refuse(message: str) -> None:
        raise AwbenchError(f"{message}; not an awbench evaluation summary (or a damaged one)")

    record = EvaluationRecord.read(path, warn=refuse)
    _check_shape(record, path)
    return record


def _check_shape(record: EvaluationRecord, path: Path) -> None:
    """The fields export reads beyond those the record checks have the types awbench writes; a one-line error
    names the first that does not."""
    def refuse(what: str, value: Any, expected: str) -> None:
        raise AwbenchError(f"{path}: '{what}' holds {value!r:.60}, not {expected}; not an awbench evaluation "
                           "summary (or a damaged one)")

    def mapping(what: str, value: Any) -> dict[str, Any]:
        if value is not None and not isinstance(value, dict):
            refuse(what, value, "a JSON object")
        return value or {}

    mapping("source.model_card", mapping("source", record.source).get("model_card"))
    autoattack = mapping("details.autoattack", mapping("details", record.details).get("autoattack"))
    mapping("details.autoattack.settings", autoattack.get("settings"))


def _percent(value: Any) -> str | None:
    return f"{100 * value:.2f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _eps(eps: Any, norm: Any) -> str | None:
    if not isinstance(eps, (int, float)):
        return None
    if norm == "Linf" and eps > 0 and abs(eps * 255 - round(eps * 255)) < 1e-6:
        return f"{round(eps * 255)}/255"
    return f"{eps:g}"


def to_robustbench(evaluation: EvaluationRecord) -> Export:
    """RobustBench's model_info fields from an awbench evaluation."""
    summary = evaluation.to_json()  # a missing accuracy or budget reads as null
    source = evaluation.source or {}
    card = source.get("model_card") or {}
    awbench_trained = not source  # awbench trains on the named dataset alone
    robust = evaluation.robust_accuracy
    deterministic = evaluation.checks.get("deterministic", {}).get("status") == "pass"
    record = {
        "link": card.get("link") or None, "name": card.get("paper"), "authors": None,
        "additional_data": False if awbench_trained else card.get("additional_data"),
        "number_forward_passes": 1 if deterministic else None, "dataset": evaluation.dataset,
        "venue": card.get("venue") or None, "architecture": card.get("architecture") or evaluation.model,
        "eps": _eps(summary["eps"], evaluation.norm), "clean_acc": _percent(summary["clean_accuracy"]),
        "reported": None, "autoattack_acc": _percent(robust.get("autoattack")),
    }
    notes = []
    settings = ((evaluation.details or {}).get("autoattack") or {}).get("settings") or {}
    reduced = {key: settings[key] for key in ("attacks", "iterations") if settings.get(key) is not None}
    if robust.get("autoattack") is None:
        notes.append("autoattack_acc is null: this evaluation did not run AutoAttack (awbench eval -a autoattack)")
    elif reduced:
        # A reduced AutoAttack (fewer attacks or iterations) is weaker: its number would overstate robustness.
        record["autoattack_acc"] = None
        notes.append(f"autoattack_acc is null: this evaluation ran a reduced AutoAttack "
                     f"({', '.join(f'{key}={value}' for key, value in reduced.items())}; "
                     f"{_percent(robust['autoattack'])}% would overstate robustness); RobustBench ranks standard "
                     "AutoAttack: rerun with awbench eval -a autoattack")
    elif settings.get("version", "standard") != "standard":
        notes.append("RobustBench ranks standard AutoAttack; this evaluation ran another version")
    if evaluation.n_examples is not None and evaluation.n_examples < FULL_TEST_SET:
        notes.append(f"measured on {evaluation.n_examples} test examples; RobustBench uses the full test set "
                     f"({FULL_TEST_SET}): rerun with --n-examples {FULL_TEST_SET} before submitting")
    if evaluation.cascade:
        notes.append("a --cascade evaluation: per-attack numbers mean 'after the cascade'")
    failed = [name for name, check in evaluation.checks.items() if check["status"] != "pass"]
    if failed:
        notes.append(f"self-checks not passed: {', '.join(failed)} (see summary.json)")
    if not deterministic:
        notes.append("number_forward_passes is null: the model is not deterministic (or was not checked)")
    missing = [name for name in ROBUSTBENCH_FIELDS if record[name] is None]
    return Export(record=record, missing=missing, notes=notes)


FORMATS: dict[str, tuple[Callable[[EvaluationRecord], Export], str]] = {
    "robustbench": (to_robustbench, "robustbench_model_info.json"),
}


def export_evaluation(eval_dir: str | Path, format: str = "robustbench", out: str | Path | None = None) -> Export:
    """Write the evaluation in `format` to `out` (default: a file in the evaluation folder); the Export."""
    if format not in FORMATS:
        raise UnknownNameError("export format", format, FORMATS)
    convert, file_name = FORMATS[format]
    result = convert(read_record(eval_dir))
    folder = evaluation_folder(eval_dir)
    path = Path(out) if out is not None else folder / file_name
    if path.is_dir():
        path = path / file_name
    text = json.dumps(result.record, indent=2) + "\n"
    atomic_write(path, lambda handle: handle.write(text.encode()))
    result.path = path
    return result

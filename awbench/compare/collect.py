"""Read a folder of training runs and evaluations into one table: one row per evaluation.

A training run is a folder holding `config.json` (a TrainConfig as a dict); an evaluation is a folder holding
`summary.json` (written by `awbench eval`), usually `runs/<name>/eval-<timestamp>/` but anywhere below the
folder. An evaluation belongs to the run in its nearest ancestor folder holding a config.json, else to the run
folder of its checkpoint. A run with no evaluation still gets a row, with empty accuracy columns.

Reading is forgiving and honest: a corrupt or foreign JSON file is skipped with a warning naming the file,
and every warning is kept (and returned) so that the caller can repeat them.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from rich.markup import escape

from awbench.console import console
from awbench.errors import AwbenchError
from awbench.evaluation.record import EvaluationRecord, RecordError, budget, number_or_nan, whole_number_or_none
from awbench.run_layout import RUN_CONFIG, SUMMARY

ROBUST_PREFIX = "robust_"
CLEAN_ATTACK = "clean"
# Usual attacks first, from weakest to strongest; any other attack follows in alphabetical order.
ATTACK_ORDER = ("fgsm", "pgd", "cw", "cw-l2", "autoattack", "adaptive")
AW_NET_METHOD = "awnet"

TEXT_COLUMNS = ("run", "model", "method", "dataset", "norm")
# Read from newer summaries: the attack set (for grouping and pairing) and the sweep a row is one point of.
CURVE_COLUMNS = ("curve_kind", "curve_label")
# Which test data an evaluation used (summary["data"]): its origin, and the files' sha256 when recorded. The
# embedded 500-image sample and the full CIFAR-10 test set are different data: never one group or front.
DATA_COLUMN = "data"
# Attacks that do not make two attack sets differ: `adaptive` runs only on dynamic models (a static model
# has no router to attack), `clean` is no attack.
ATTACKS_IGNORED_IN_SETS = ("adaptive", CLEAN_ATTACK)


@dataclass
class Collection:
    """What a folder holds: the table (one row per evaluation or unevaluated run) and the warnings."""

    frame: pd.DataFrame
    attacks: list[str]
    warnings: list[str] = field(default_factory=list)


def robust_column(attack: str) -> str:
    """Name of the table column holding the robust accuracy under `attack`."""
    return f"{ROBUST_PREFIX}{attack}"


def is_aw_net(model: Any, method: Any, dynamic: Any) -> bool:
    """AW-Net rows: an AW-Net architecture (by name, model_zoo's one answer), the `awnet` training method, or an
    evaluation of a dynamic model."""
    from model_zoo import is_dynamic_architecture

    return (isinstance(model, str) and is_dynamic_architecture(model)) or method == AW_NET_METHOD or dynamic is True


def collect_runs(runs_dir: str | Path) -> Collection:
    """Walk `runs_dir` and read every run's config.json and every evaluation's summary.json into one table.

    Raises AwbenchError when the folder is missing, is not a folder, or holds no readable run or evaluation.
    """
    root = Path(runs_dir)
    if not root.exists():
        raise AwbenchError(f"no such folder: {root}")
    if not root.is_dir():
        raise AwbenchError(f"{root} is not a folder; give the folder that holds the run folders (e.g. runs/)")
    warnings: list[str] = []
    config_paths, summary_paths = _find_json_files(root)
    runs: dict[Path, dict[str, Any]] = {}  # run folder -> its config.json; the folder names the run
    for path in config_paths:
        config = _read_run_config(path, warnings)
        if config is not None:
            runs[path.parent.resolve()] = config
    rows, evaluated = [], set()
    for path in summary_paths:
        row = _read_evaluation(path, root, runs, evaluated, warnings)
        if row is not None:
            rows.append(row)
    rows += [_unevaluated_row(folder.name, config) for folder, config in runs.items() if folder not in evaluated]
    if not rows:
        skipped = f"; {len(warnings)} file(s) skipped, see the warnings above" if warnings else ""
        raise AwbenchError(f"no training runs ({RUN_CONFIG}) or evaluations ({SUMMARY}) found under {root}{skipped}")
    attacks = _ordered_attacks({key for row in rows for key in row.get("robust", {})})
    return Collection(frame=_to_frame(rows, attacks), attacks=attacks, warnings=warnings)


def _find_json_files(root: Path) -> tuple[list[Path], list[Path]]:
    configs, summaries = [], []
    for folder, subfolders, files in os.walk(root):
        # Sorted for a reproducible row order; hidden folders and caches are never runs.
        subfolders[:] = sorted(name for name in subfolders if not name.startswith((".", "__")))
        if RUN_CONFIG in files:
            configs.append(Path(folder) / RUN_CONFIG)
        if SUMMARY in files:
            summaries.append(Path(folder) / SUMMARY)
    return configs, summaries


def _warn(warnings: list[str], message: str) -> None:
    warnings.append(message)
    console.print(f"[yellow]warning:[/] {escape(message)}", soft_wrap=True)  # a path must stay whole


def _read_json(path: Path, warnings: list[str]) -> dict[str, Any] | None:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        _warn(warnings, f"skipped {path}: not readable JSON ({reason})")
        return None
    if not isinstance(payload, dict):
        _warn(warnings, f"skipped {path}: expected a JSON object, found {type(payload).__name__}")
        return None
    return payload


def _read_run_config(path: Path, warnings: list[str]) -> dict[str, Any] | None:
    config = _read_json(path, warnings)
    if config is None:
        return None
    if not any(isinstance(config.get(key), str) for key in ("model", "method")):
        _warn(warnings, f"skipped {path}: not an awbench training config (no 'model' or 'method')")
        return None
    return config  # the run is named by its folder: config["name"] may be stale after a rename or a copy


def _read_evaluation(path: Path, root: Path, runs: dict[Path, dict[str, Any]], evaluated: set[Path],
                     warnings: list[str]) -> dict[str, Any] | None:
    payload = _read_json(path, warnings)
    if payload is None:
        return None
    try:
        record = EvaluationRecord.from_json(payload, source=str(path), warn=lambda text: _warn(warnings, text))
    except RecordError as error:
        _warn(warnings, f"skipped {path}: {error}")
        return None
    robust = dict(record.robust_accuracy)
    # The `clean` pseudo-attack (no perturbation) measures clean accuracy, not robustness.
    clean_attack = robust.pop(CLEAN_ATTACK, math.nan)
    clean = clean_attack if math.isnan(record.clean_accuracy) else record.clean_accuracy
    worst = record.worst_case_accuracy
    if not robust:  # only the clean pseudo-attack ran (its "worst case" is the clean accuracy): no robustness
        worst = math.nan
    elif record.cascade is True:
        # Each attack met only the survivors of the previous ones: its number is not comparable with the
        # same attack's in other evaluations; the worst case is.
        _warn(warnings, f"{path}: a --cascade evaluation; its per-attack accuracies mean 'after the cascade' "
                        "and are left out, its worst case is compared")
        robust = {}
    if math.isnan(worst) and robust:
        # An upper bound of the per-sample worst case, which the summary should have held; say so.
        worst = min(robust.values())
        _warn(warnings, f"{path}: no worst_case_accuracy; used the lowest attack accuracy ({worst:.4f})")
    folder = _owning_run(path.parent.resolve(), record.checkpoint, root, runs)
    config = runs[folder] if folder is not None else {}
    if folder is not None:
        evaluated.add(folder)
    model = _own_or_config(payload, config, "model")
    method = _own_or_config(payload, config, "method")
    eps = record.eps if "eps" in payload else budget(config.get("eps"), str(path), lambda text: _warn(warnings, text))
    return {
        "run": folder.name if folder is not None else _unlinked_run_name(path, record),
        "model": model,
        "method": method,
        "dataset": _own_or_config(payload, config, "dataset"),
        "norm": _own_or_config(payload, config, "norm"),
        "eps": eps,
        "n_examples": record.n_examples,
        "clean_accuracy": clean,
        "robust": robust,
        "worst_case_accuracy": worst,
        "aw_net": is_aw_net(model, method, record.dynamic),
        "checks": _unpassed_checks(record.checks),
        "evaluation": _relative(path.parent, root),
        "attack_set": _attack_set(record.attacks, robust),
        DATA_COLUMN: data_identity(record.data),
        **_curve(record.curve),
    }


def _own_or_config(payload: dict[str, Any], config: dict[str, Any], key: str) -> Any:
    """The summary's own value (even null), else the run config's."""
    return payload[key] if key in payload else config.get(key)


def data_identity(record: Any) -> str | None:
    """'embedded-sample sha256:1a2b3c4d5e6f' from a summary's data record (origin, files with sha256); None
    when the summary has none (older evaluations)."""
    if not isinstance(record, dict) or not isinstance(record.get("origin"), str):
        return None
    files = record.get("files") if isinstance(record.get("files"), list) else []
    hashes = [str(item["sha256"]) for item in files if isinstance(item, dict) and isinstance(item.get("sha256"), str)]
    if not hashes:
        return record["origin"]
    digest = hashes[0] if len(hashes) == 1 else hashlib.sha256("".join(sorted(hashes)).encode()).hexdigest()
    return f"{record['origin']} sha256:{digest[:12]}"


def _attack_set(attacks: Any, robust: dict[str, float]) -> str | None:
    """'pgd+autoattack': the attacks that ran (ignoring adaptive and clean), in the usual order."""
    names = [str(name) for name in attacks] if isinstance(attacks, list) else list(robust)
    names = [name for name in names if name not in ATTACKS_IGNORED_IN_SETS]
    return "+".join(_ordered_attacks(set(names))) or None


def _curve(curve: Any) -> dict[str, Any]:
    """The sweep a row is one point of ({"kind", "value", "label"}); empty fields for a single evaluation."""
    if not isinstance(curve, dict) or not isinstance(curve.get("kind"), str):
        return {"curve_kind": None, "curve_label": None, "curve_value": math.nan}
    label = curve.get("label") if isinstance(curve.get("label"), str) else curve["kind"]
    return {"curve_kind": curve["kind"], "curve_label": label, "curve_value": number_or_nan(curve.get("value"))}


def _owning_run(folder: Path, checkpoint: Any, root: Path, runs: dict[Path, dict[str, Any]]) -> Path | None:
    """The run folder an evaluation belongs to: its nearest ancestor run, else its checkpoint's run folder."""
    stop = root.resolve()
    for candidate in (folder, *folder.parents):
        if candidate in runs:
            return candidate
        if candidate == stop:
            break
    if isinstance(checkpoint, str) and checkpoint:
        checkpoint_path = Path(checkpoint)
        candidates = [checkpoint_path] if checkpoint_path.is_absolute() else [checkpoint_path, root / checkpoint_path]
        for candidate in candidates:
            run_folder = candidate.parent.resolve()
            if run_folder in runs:
                return run_folder
    return None


def _unlinked_run_name(path: Path, record: EvaluationRecord) -> str:
    if isinstance(record.run, str) and record.run:
        return record.run
    checkpoint = record.checkpoint
    if isinstance(checkpoint, str) and checkpoint:
        checkpoint_path = Path(checkpoint)
        # runs/<name>/best.pt names the run by its folder; a zoo checkpoint by its file name.
        if checkpoint_path.stem in ("best", "checkpoint") and checkpoint_path.parent.name:
            return checkpoint_path.parent.name
        return checkpoint_path.stem
    return path.parent.name


def _unpassed_checks(checks: dict[str, Any]) -> str | None:
    """'name: status' for every check that did not pass (a flag is reported, never hidden); None if all passed."""
    unpassed = [f"{name}: {check['status']}" for name, check in checks.items() if check["status"] != "pass"]
    return "; ".join(unpassed) or None


def _unevaluated_row(name: str, config: dict[str, Any]) -> dict[str, Any]:
    return {
        "run": name,
        "model": config.get("model"),
        "method": config.get("method"),
        "dataset": config.get("dataset"),
        "norm": config.get("norm"),
        "eps": config.get("eps"),
        "n_examples": None,
        "clean_accuracy": math.nan,
        "robust": {},
        "worst_case_accuracy": math.nan,
        "aw_net": is_aw_net(config.get("model"), config.get("method"), None),
        "checks": None,
        "evaluation": None,
        "attack_set": None,
        DATA_COLUMN: None,
        **_curve(None),
    }


def _relative(folder: Path, root: Path) -> str:
    try:
        return folder.resolve().relative_to(root.resolve()).as_posix() or "."
    except ValueError:
        return str(folder)


def _ordered_attacks(attacks: set[str]) -> list[str]:
    known = [attack for attack in ATTACK_ORDER if attack in attacks]
    return known + sorted(attacks - set(known))


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _to_frame(rows: list[dict[str, Any]], attacks: list[str]) -> pd.DataFrame:
    columns: dict[str, Any] = {
        name: pd.array([_text_or_none(row[name]) for row in rows], dtype="str") for name in TEXT_COLUMNS
    }
    columns["eps"] = pd.array([number_or_nan(row["eps"]) for row in rows], dtype="float64")
    columns["n_examples"] = pd.array([whole_number_or_none(row["n_examples"]) for row in rows], dtype="Int64")
    columns["clean_accuracy"] = pd.array([row["clean_accuracy"] for row in rows], dtype="float64")
    for attack in attacks:
        values = [row["robust"].get(attack, math.nan) for row in rows]
        columns[robust_column(attack)] = pd.array(values, dtype="float64")
    columns["worst_case_accuracy"] = pd.array([row["worst_case_accuracy"] for row in rows], dtype="float64")
    columns["aw_net"] = pd.array([bool(row["aw_net"]) for row in rows], dtype="bool")
    columns["checks"] = pd.array([row["checks"] for row in rows], dtype="str")
    columns["evaluation"] = pd.array([row["evaluation"] for row in rows], dtype="str")
    columns["attack_set"] = pd.array([row["attack_set"] for row in rows], dtype="str")
    columns[DATA_COLUMN] = pd.array([row[DATA_COLUMN] for row in rows], dtype="str")
    for name in CURVE_COLUMNS:
        columns[name] = pd.array([row[name] for row in rows], dtype="str")
    columns["curve_value"] = pd.array([row["curve_value"] for row in rows], dtype="float64")
    return pd.DataFrame(columns)

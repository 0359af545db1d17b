"""Every file name of a run folder and an evaluation folder, in one place.

    runs/<name>/                 a training run
        config.json              its TrainConfig
        train_log.csv            a row per epoch
        checkpoint.pt, best.pt   the latest and the best checkpoint
        eval-<timestamp>/        an evaluation (awbench eval)
            summary.json         the EvaluationRecord (awbench.evaluation.record)
            per_sample.csv       one row per example: label, clean prediction, survived_<attack>...
            eval_state.json      resumable progress (awbench.evaluation.state)
            pinned-r0/, -r1/     a dynamic model's per-regime evaluations (their own state files)
            eps-<budget>/        one budget of an eps sweep, beside sweep.json
        alpha-<a>/interpolated.pt  a weight interpolation's model (its evaluation in alpha-<a>/eval/)
        .awbench.lock            held while a process writes into the folder
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

RUN_CONFIG = "config.json"
TRAIN_LOG = "train_log.csv"
LAST_CHECKPOINT = "checkpoint.pt"
BEST_CHECKPOINT = "best.pt"
CHECKPOINTS = (BEST_CHECKPOINT, LAST_CHECKPOINT)  # what a run folder is evaluated from, in order of preference
SUMMARY = "summary.json"
PER_SAMPLE = "per_sample.csv"
EVALUATION_STATE = "eval_state.json"
SWEEP = "sweep.json"
INTERPOLATED_MODEL = "interpolated.pt"
LOCK = ".awbench.lock"
EVALUATION_PREFIX = "eval-"


def summary_path(folder: str | Path) -> Path:
    """The summary.json of an evaluation folder (given the folder or the file itself)."""
    path = Path(folder)
    return path if path.name == SUMMARY else path / SUMMARY


def evaluation_folder(path: str | Path) -> Path:
    """The evaluation folder of a summary.json path or of the folder itself."""
    path = Path(path)
    return path.parent if path.name == SUMMARY else path


def pinned_folder(out: Path, value: float) -> Path:
    """Where a dynamic model's evaluation with every signal pinned to `value` keeps its state."""
    return out / f"pinned-r{value:g}"


def new_evaluation_folder(run_folder: Path) -> Path:
    """A fresh `eval-<timestamp>` folder name inside `run_folder` (never an existing one)."""
    base = run_folder / f"{EVALUATION_PREFIX}{datetime.now():%Y%m%d-%H%M%S}"
    out, counter = base, 1
    while out.exists():
        counter += 1
        out = base.with_name(f"{base.name}-{counter}")
    return out

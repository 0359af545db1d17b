"""A run folder `runs/<name>/`: config.json, train_log.csv (a row per epoch), checkpoint.pt (last), best.pt.

Every file is replaced atomically, so a run killed at any moment leaves a consistent folder to resume from.
A run holds the folder's lock (awbench.locks) while it trains: a second writer is refused, never mixed in.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from awbench import checkpoint, run_layout
from awbench.errors import AwbenchError
from awbench.files import atomic_write
from awbench.locks import FolderLock
from awbench.training.config import TrainConfig, check_run_name


def default_run_name(config: TrainConfig) -> str:
    return f"{config.dataset}-{config.model}-{config.method}"


@dataclass
class RunFolder:
    path: Path
    lock: FolderLock | None = field(default=None, repr=False, compare=False)
    created: bool = field(default=False, compare=False)  # made by this run (removed if it fails before epoch 1)

    @property
    def checkpoint_path(self) -> Path:
        return self.path / run_layout.LAST_CHECKPOINT

    @property
    def best_path(self) -> Path:
        return self.path / run_layout.BEST_CHECKPOINT

    @property
    def log_path(self) -> Path:
        return self.path / run_layout.TRAIN_LOG

    @property
    def config_path(self) -> Path:
        return self.path / run_layout.RUN_CONFIG

    @classmethod
    def for_config(cls, config: TrainConfig, *, resume: bool) -> RunFolder:
        """The run folder `config.out/config.name`, created if need be and locked for this process.

        The lock comes before the checks, so that two runs started together cannot both find the folder free.
        """
        config.name = check_run_name(config.name or default_run_name(config))
        folder = cls(Path(config.out) / config.name)
        folder.created = not folder.path.exists()
        folder.lock = FolderLock(folder.path, "training").acquire()
        try:
            if resume and not folder.checkpoint_path.is_file():
                raise AwbenchError(f"cannot resume: {folder.checkpoint_path} does not exist")
            if not resume and folder.checkpoint_path.is_file():
                raise AwbenchError(
                    f"{folder.path} already holds a run; continue it with --resume {folder.path} "
                    "or choose another --name / --out"
                )
        except BaseException:
            folder.close(failed=True)
            raise
        return folder

    def close(self, *, failed: bool) -> None:
        """Release the lock. A failed run that created this folder and saved no epoch removes it again."""
        try:
            if failed and self.created and self.lock is not None and not self.checkpoint_path.is_file():
                for path in (self.config_path, self.log_path, self.best_path):
                    path.unlink(missing_ok=True)
        finally:
            if self.lock is not None:
                self.lock.release()
                self.lock = None
        if failed and self.created:
            try:
                self.path.rmdir()  # only if nothing else is left in it
            except OSError:
                pass

    def write_config(self, config: TrainConfig, data: dict[str, Any] | None = None) -> None:
        """config.json: the TrainConfig, and under "data" the data files the run read (from_dict ignores it)."""
        values = config.to_dict() | ({"data": data} if data is not None else {})
        text = json.dumps(values, indent=2, sort_keys=True)
        atomic_write(self.config_path, lambda handle: handle.write(text.encode()))

    def read_log(self) -> list[dict[str, Any]]:
        if not self.log_path.is_file():
            return []
        with self.log_path.open(newline="") as handle:
            return list(csv.DictReader(handle))

    def write_log(self, rows: list[dict[str, Any]]) -> None:
        columns: list[str] = []
        for row in rows:
            columns += [key for key in row if key not in columns]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write(self.log_path, lambda handle: handle.write(buffer.getvalue().encode()))

    def save_epoch(self, model, optimizer, scheduler, method, metadata: dict[str, Any], row: dict[str, Any], *,
                   best: float, is_best: bool) -> None:
        """Log the epoch's row, write best.pt if the epoch is the best, then checkpoint.pt (with training state).

        checkpoint.pt comes last because it marks the epoch as done: a run killed before it redoes the epoch
        (and rewrites best.pt), so best.pt is never older than what checkpoint.pt says was finished.
        """
        rows = [r for r in self.read_log() if int(r["epoch"]) < row["epoch"]] + [row]
        self.write_log(rows)
        if is_best:
            selected = {**metadata, "selected_by": "val_pgd_acc" if not math.isnan(row.get("val_pgd_acc", math.nan))
                        else "last"}
            checkpoint.save(self.best_path, model, selected)
        training_state = {
            "epoch": row["epoch"], "best": best, "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "method": method.state_dict(), "rng": torch.get_rng_state(),
        }
        checkpoint.save(self.checkpoint_path, model, metadata, training_state)

    def epochs_done(self) -> int:
        """Epochs finished by the run in this folder: checkpoint.pt's record (0 without one)."""
        if not self.checkpoint_path.is_file():
            return 0
        _, _, state = checkpoint.load_training_state(self.checkpoint_path)
        return int(state.get("epoch", 0))

    def restore(self, model, optimizer, scheduler, method) -> tuple[int, float]:
        """Load the last checkpoint's weights and training state; return (epochs done, best score)."""
        _, state_dict, state = checkpoint.load_training_state(self.checkpoint_path)
        try:
            model.load_state_dict(state_dict)
        except RuntimeError as error:
            raise AwbenchError(f"{self.checkpoint_path} does not fit this run's model: {str(error)[:200]}") from None
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        method.load_state_dict(state.get("method", {}))
        return int(state["epoch"]), float(state["best"])


# What a resumed run may change: how long it trains, where, and where its data lies. Everything else is the run's.
RESUMABLE_FIELDS = ("epochs", "device", "data_dir")


def load_config(run_dir: str | Path) -> TrainConfig:
    """The TrainConfig saved in a run folder's config.json; one-line AwbenchError when there is none or it is bad."""
    path = Path(run_dir) / run_layout.RUN_CONFIG
    if not path.is_file():
        raise AwbenchError(f"{run_dir} is not a run folder (no config.json)")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return TrainConfig.from_dict(_with_legacy_design(raw, Path(run_dir)))
    except UnicodeDecodeError:
        raise AwbenchError(f"{path} is not a valid run configuration (not UTF-8 text)") from None
    except (json.JSONDecodeError, TypeError) as error:
        raise AwbenchError(f"{path} is not a valid run configuration ({error})") from None


def config_for_resume(run_dir: str | Path, **given: Any) -> TrainConfig:
    """The configuration that continues the run in `run_dir`: its own config.json, with the options the user
    gave (not None) among RESUMABLE_FIELDS applied, and `out`/`name` naming that very folder. The device is the
    machine's, not the run's: not given, it is TrainConfig's default (auto).

    Another option given with a value other than the run's is refused (one line): a resumed run keeps its
    model, method and budgets."""
    folder = Path(run_dir).resolve()  # `--resume .` names the run folder by its real name
    config = load_config(folder)
    saved = config.to_dict()
    changed = sorted(name for name, value in given.items()
                     if value is not None and name not in RESUMABLE_FIELDS and saved.get(name) != value)
    if changed:
        flags = ", ".join("--" + name.replace("_", "-") for name in changed)
        raise AwbenchError(f"--resume continues a run with its own settings; {flags} cannot change "
                           f"(only {', '.join('--' + n.replace('_', '-') for n in RESUMABLE_FIELDS)} can)")
    config.out, config.name = str(folder.parent), folder.name
    config.device = TrainConfig.device
    for name in RESUMABLE_FIELDS:
        if given.get(name) is not None:
            setattr(config, name, str(given[name]) if name == "data_dir" else given[name])
    return config


def _with_legacy_design(raw: Any, run_dir: Path) -> Any:
    """A config.json written before AW-Net's designs had names (no "model_options"; `aw-<backbone>` then meant
    the low-rank design) names what the run's checkpoint.pt really holds, so `--resume` rebuilds the same
    network: the checkpoint's metadata migrated as `awbench.checkpoint.read_migrated` does for loading. Any
    other config (or a legacy run without a checkpoint yet) is returned as it is."""
    checkpoint_path = run_dir / run_layout.LAST_CHECKPOINT
    if not isinstance(raw, dict) or "model_options" in raw or not checkpoint_path.is_file():
        return raw
    metadata = checkpoint.read_migrated(checkpoint_path)["metadata"]
    options = metadata.get("model_options")
    if metadata.get("migrated_from") != raw.get("model") or not isinstance(options, dict):
        return raw
    return {**raw, "model": metadata["architecture"], "model_options": options}

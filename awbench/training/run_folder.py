"""A run folder `runs/<name>/`: config.json, train_log.csv (a row per epoch), checkpoint.pt (last), best.pt.

Every file is replaced atomically, so a run killed at any moment leaves a consistent folder to resume from.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from awbench import checkpoint
from awbench.errors import AwbenchError
from awbench.training.config import TrainConfig


def default_run_name(config: TrainConfig) -> str:
    return f"{config.dataset}-{config.model}-{config.method}"


@dataclass
class RunFolder:
    path: Path

    @property
    def checkpoint_path(self) -> Path:
        return self.path / "checkpoint.pt"

    @property
    def best_path(self) -> Path:
        return self.path / "best.pt"

    @property
    def log_path(self) -> Path:
        return self.path / "train_log.csv"

    @classmethod
    def for_config(cls, config: TrainConfig, *, resume: bool) -> RunFolder:
        config.name = config.name or default_run_name(config)
        folder = cls(Path(config.out) / config.name)
        if resume and not folder.checkpoint_path.is_file():
            raise AwbenchError(f"cannot resume: {folder.checkpoint_path} does not exist")
        if not resume and folder.checkpoint_path.is_file():
            raise AwbenchError(
                f"{folder.path} already holds a run; continue it with --resume {folder.path} "
                "or choose another --name / --out"
            )
        folder.path.mkdir(parents=True, exist_ok=True)
        return folder

    def write_config(self, config: TrainConfig, data: dict[str, Any] | None = None) -> None:
        """config.json: the TrainConfig, and under "data" the data files the run read (from_dict ignores it)."""
        values = config.to_dict() | ({"data": data} if data is not None else {})
        text = json.dumps(values, indent=2, sort_keys=True)
        checkpoint.atomic_write(self.path / "config.json", lambda handle: handle.write(text.encode()))

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
        checkpoint.atomic_write(self.log_path, lambda handle: handle.write(buffer.getvalue().encode()))

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

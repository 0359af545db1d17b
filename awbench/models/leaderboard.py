"""The RobustBench leaderboard shipped as package data: published clean / AutoAttack accuracies per model.

The file (`reference/robustbench_leaderboard.csv`, source and date in `reference/README.md`) is RobustBench's
`model_info/<dataset>/<threat_model>/*.json`, one row per entry. It names the models `rb:` accepts, gives the
reference points of `awbench compare --reference robustbench` and the rows of `awbench zoo list --published`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from awbench.errors import AwbenchError
from awbench.threat import Norm, parse_eps

LEADERBOARD_PATH = Path(__file__).parent / "reference" / "robustbench_leaderboard.csv"
SOURCE = "RobustBench model_info JSON files, commit 78fcc9e (2025-03-31), MIT licence"
DATASETS = ("cifar10", "cifar100", "imagenet")
EPS_TOLERANCE = 5e-4  # RobustBench writes some 8/255 budgets as 0.031


@dataclass(frozen=True)
class LeaderboardEntry:
    """One published model: where it lives in RobustBench, and its published numbers (fractions in [0, 1])."""

    dataset: str
    threat_model: str
    model_id: str
    name: str
    architecture: str
    eps: str
    clean_accuracy: float
    autoattack_accuracy: float
    reported: float | None
    external: float | None
    additional_data: bool
    venue: str
    link: str
    unreliable: bool

    @property
    def eps_value(self) -> float:
        """The budget as a number; an Linf budget written rounded ("0.031") is the k/255 it stands for (8/255)."""
        value = parse_eps(self.eps)
        steps = round(value * 255)
        if self.threat_model == Norm.LINF.value and steps >= 1 and abs(value - steps / 255) <= EPS_TOLERANCE:
            return steps / 255
        return value

    @property
    def evaluable(self) -> bool:
        """Whether awbench has the entry's test set (ImageNet it has not: such a model cannot be evaluated here)."""
        return is_evaluable_dataset(self.dataset)

    @property
    def reference(self) -> str:
        return f"rb:{self.dataset}/{self.threat_model}/{self.model_id}"

    def card(self) -> dict:
        """The model card written into summary.json (accuracies as fractions, as awbench writes them)."""
        return {"model_id": self.model_id, "paper": self.name, "link": self.link, "venue": self.venue,
                "architecture": self.architecture, "dataset": self.dataset, "threat_model": self.threat_model,
                "eps": self.eps, "published_clean_accuracy": self.clean_accuracy,
                "published_autoattack_accuracy": self.autoattack_accuracy,
                "published_external_accuracy": self.external, "reported": self.reported,
                "additional_data": self.additional_data, "unreliable": self.unreliable, "source": SOURCE}


def is_evaluable_dataset(dataset: str) -> bool:
    from awbench.data import DatasetName

    return dataset in {name.value for name in DatasetName}


def _fraction(value: object) -> float | None:
    return None if pd.isna(value) else float(value) / 100.0


@lru_cache(maxsize=1)
def entries() -> tuple[LeaderboardEntry, ...]:
    """Every leaderboard entry, in the file's order."""
    frame = pd.read_csv(LEADERBOARD_PATH, dtype={"eps": str, "venue": str, "link": str}, keep_default_na=True)
    return tuple(
        LeaderboardEntry(
            dataset=row.dataset, threat_model=row.threat_model, model_id=row.model_id, name=str(row.name),
            architecture=str(row.architecture), eps=str(row.eps), clean_accuracy=_fraction(row.clean_acc),
            autoattack_accuracy=_fraction(row.autoattack_acc), reported=_fraction(row.reported),
            external=_fraction(row.external), additional_data=bool(row.additional_data),
            venue="" if pd.isna(row.venue) else str(row.venue), link="" if pd.isna(row.link) else str(row.link),
            unreliable=bool(row.unreliable),
        )
        for row in frame.itertuples(index=False)
    )


def select(dataset: str | None = None, threat_model: str | None = None) -> list[LeaderboardEntry]:
    """Entries of one dataset and/or threat model (None: all); an unknown value raises, naming the valid ones."""
    if dataset is not None and dataset.lower() not in DATASETS:
        raise AwbenchError(f"unknown dataset '{dataset}' in the RobustBench leaderboard; choose one of: "
                           f"{', '.join(DATASETS)}")
    norm = Norm.parse(threat_model).value if threat_model is not None else None
    return [item for item in entries()
            if (dataset is None or item.dataset == dataset.lower()) and (norm is None or item.threat_model == norm)]


def find(model_id: str, dataset: str | None = None, threat_model: str | None = None) -> LeaderboardEntry:
    """The entry named `model_id` (in the given dataset / threat model, first Linf then L2, CIFAR-10 first).

    An unknown name raises, suggesting the closest names of the leaderboard.
    """
    candidates = select(dataset, threat_model)
    matches = [item for item in candidates if item.model_id == model_id]
    if matches:
        order = {"Linf": 0, "L2": 1}
        return min(matches, key=lambda item: (DATASETS.index(item.dataset), order.get(item.threat_model, 2)))
    names = sorted({item.model_id for item in candidates})
    close = difflib.get_close_matches(model_id, names, n=5, cutoff=0.5)
    close += [name for name in names if model_id.lower() in name.lower() and name not in close][: 5 - len(close)]
    where = "/".join(part for part in (dataset, threat_model) if part) or "any dataset"
    hint = f"; did you mean: {', '.join(close)}?" if close else "; see `awbench zoo list --published`"
    raise AwbenchError(f"unknown RobustBench model '{model_id}' ({where}){hint}")

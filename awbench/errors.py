"""User-facing errors: the CLI prints their message on one line and exits with a non-zero code."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class AwbenchError(Exception):
    """An error caused by the user's input (a bad name, a missing file, a corrupt checkpoint...)."""

    exit_code = 2


class UnknownNameError(AwbenchError):
    """A name (dataset, model, method, attack) that is not registered; the message lists valid choices."""

    def __init__(self, kind: str, name: str, choices: Iterable[str]):
        self.kind, self.name, self.choices = kind, name, sorted(set(choices))
        self.suggestion = suggest(name, self.choices)
        hint = f" (did you mean '{self.suggestion}'?)" if self.suggestion else ""
        super().__init__(f"unknown {kind} '{name}'; choose one of: {', '.join(self.choices)}{hint}")


def suggest(name: str, choices: Iterable[str]) -> str | None:
    """The choice closest to a mistyped `name` (case, '_' for '-', a typo), or None when none is close."""
    choices = list(choices)
    folded = {choice.lower().replace("_", "-"): choice for choice in choices}
    key = str(name).lower().replace("_", "-")
    if key in folded:
        return folded[key]
    close = difflib.get_close_matches(key, list(folded), n=1, cutoff=0.6)
    return folded[close[0]] if close else None


class DataNotFoundError(AwbenchError):
    """The dataset could not be found on disk (and could not, or was not asked to, be downloaded)."""


class DataError(AwbenchError):
    """A data file that was found but does not hold what its name promises (shapes, labels)."""


class CheckpointError(AwbenchError):
    """A checkpoint file that is missing, truncated, unsafe, foreign or does not fit its architecture."""

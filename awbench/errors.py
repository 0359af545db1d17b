"""User-facing errors: the CLI prints their message on one line and exits with a non-zero code.

The model zoo has errors of its own (model_zoo.errors: it imports nothing from awbench); `USER_ERRORS` names
both families, which every boundary that turns a user's mistake into one line catches.
"""

from __future__ import annotations

from collections.abc import Iterable

from model_zoo.errors import ModelZooError, suggest


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


class DataNotFoundError(AwbenchError):
    """The dataset could not be found on disk (and could not, or was not asked to, be downloaded)."""


class DataError(AwbenchError):
    """A data file that was found but does not hold what its name promises (shapes, labels)."""


class CheckpointError(AwbenchError):
    """A checkpoint file that is missing, truncated, unsafe, foreign or does not fit its architecture."""


USER_ERRORS: tuple[type[Exception], ...] = (AwbenchError, ModelZooError)
__all__ = [
    "USER_ERRORS", "AwbenchError", "CheckpointError", "DataError", "DataNotFoundError", "ModelZooError",
    "UnknownNameError", "suggest",
]

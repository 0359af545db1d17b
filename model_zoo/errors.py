"""The model zoo's own errors: a user's bad input (an unknown architecture, a bad option, an unreadable manifest).

model_zoo imports nothing from awbench; awbench's command line prints these on one line like its own errors
(awbench.errors.USER_ERRORS).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ModelZooError(Exception):
    """An error caused by the caller's input to the model zoo; its message is one line a user can act on."""

    exit_code = 2


class UnknownNameError(ModelZooError):
    """A name (architecture, zoo checkpoint, option) that is not registered; the message lists valid choices."""

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

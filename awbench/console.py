"""Terminal output: one rich console on stderr (stdout stays clean for --json), and progress bars."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

console = Console(stderr=True)


def progress(transient: bool = False, disable: bool = False) -> Progress:
    """A rich progress bar with counts, elapsed and remaining time, and a free-text 'info' field."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"),
        console=console,
        transient=transient,
        disable=disable,
    )


def format_eps(eps: float | None, norm: str | None) -> str:
    """An Linf budget as the usual k/255 when it is one (8/255), anything else as a plain number."""
    if eps is None or eps != eps:  # None or NaN
        return "?"
    if getattr(norm, "value", norm) == "Linf" and eps > 0 and abs(eps * 255 - round(eps * 255)) < 1e-6:
        return f"{round(eps * 255)}/255"
    return f"{eps:g}"


def format_seconds(seconds: float) -> str:
    """12 s, 4.5 min, 3.2 h: a duration as a reader estimates it."""
    if seconds < 1:
        return "under 1 s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"

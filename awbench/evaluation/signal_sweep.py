"""The r-sweep of an AW-Net: one evaluation per constant signal r, all on the same examples.

`sweep_signal(checkpoint, values=[0, 0.25, ...], attacks=[...], out=...)` evaluates the network pinned at
each r (evaluate_checkpoint(..., pin_signal=r)) into `out/r<r>`; each summary holds "pin_signal" and the
curve point {"kind": "pin_signal", "value": r, "label": "<run> pinned r"}, which `awbench compare` joins
into one line. The examples are the same for every r: the same seeded, class-balanced selection.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from awbench.attacks import dynamic
from awbench.errors import AwbenchError
from awbench.evaluation.api import evaluate_checkpoint

DEFAULT_VALUES = (0.0, 0.25, 0.5, 0.75, 1.0)


def parse_values(text: str | Sequence[float] | None) -> list[float]:
    """'0,0.25,1' (or a list) -> [0.0, 0.25, 1.0]; refuses no values, a non-number, r outside [0, 1], duplicates."""
    if text is None:
        return list(DEFAULT_VALUES)
    items = [item.strip() for item in text.split(",")] if isinstance(text, str) else list(text)
    items = [item for item in items if item != ""]
    if not items:
        raise AwbenchError("--values needs at least one signal value, e.g. 0,0.25,0.5,0.75,1")
    values = [dynamic.check_pin_signal(item) for item in items]
    duplicates = sorted({value for value in values if values.count(value) > 1})
    if duplicates:
        raise AwbenchError(f"--values repeats {', '.join(f'{value:g}' for value in duplicates)}; give each r once")
    return values


def default_sweep_out(checkpoint: str | Path) -> Path:
    text = str(checkpoint)
    run_folder = Path("runs") / f"zoo-{text[4:]}" if text.startswith("zoo:") else (
        Path(text) if Path(text).is_dir() else Path(text).parent)
    return run_folder / f"sweep-signal-{datetime.now():%Y%m%d-%H%M%S}"


def sweep_signal(checkpoint: str | Path, *, values: str | Sequence[float] | None = None, attacks: list[str],
                 out: str | Path | None = None, **settings: Any) -> list[dict[str, Any]]:
    """Evaluate the AW-Net pinned at each r in `values` (sorted); returns the summaries, one per r.

    `settings` are evaluate_checkpoint's (n_examples, seed, eps, batch_size, steps...). `out/r<r>` holds
    each evaluation (and resumes it when run again)."""
    values = sorted(parse_values(values))
    if "pin_signal" in settings:
        raise AwbenchError("sweep-signal sets the pinned signal itself; give --values instead of --pin-signal")
    out = Path(out) if out is not None else default_sweep_out(checkpoint)
    return [evaluate_checkpoint(checkpoint, attacks=attacks, out=out / f"r{value:g}", pin_signal=value, **settings)
            for value in values]

"""Evaluation outputs: summary.json and per_sample.csv (written atomically), and the rich table."""

from __future__ import annotations

import io
import json
import platform
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

import pandas as pd
from rich.table import Table

from awbench import __version__
from awbench.console import console, format_eps
from awbench.files import atomic_write

SUMMARY_FILE = "summary.json"
PER_SAMPLE_FILE = "per_sample.csv"
STATUS_STYLE = {"pass": "green", "fail": "bold red", "flag": "yellow"}


def versions() -> dict[str, str]:
    found = {"awbench": __version__, "python": platform.python_version()}
    for package in ("torch", "pyautoattack", "foolbox", "numpy"):
        try:
            found[package] = package_metadata.version(package)
        except package_metadata.PackageNotFoundError:
            found[package] = "absent"
    return found


def per_sample_frame(indices: list[int], columns: dict[str, list[int]], attacks: list[str]) -> pd.DataFrame:
    """index (in the dataset split), label, clean_prediction, survived_<attack>..., survived_all (0/1)."""
    frame = pd.DataFrame({"index": indices, "label": columns["label"], "clean_prediction": columns["clean_prediction"]})
    for name in attacks:
        frame[f"survived_{name}"] = columns[name]
    frame["survived_all"] = columns["all"]
    return frame


def rewrite_summary(summary: dict[str, Any]) -> None:
    """Write `summary` (amended after its evaluation: a sweep's or a curve's entries) over OUT/summary.json."""
    text = json.dumps(summary, indent=2)
    atomic_write(Path(summary["out"]) / SUMMARY_FILE, lambda handle: handle.write(text.encode()))


def write_outputs(out: Path, summary: dict[str, Any], frame: pd.DataFrame) -> None:
    text = json.dumps(summary, indent=2)
    atomic_write(out / SUMMARY_FILE, lambda handle: handle.write(text.encode()))
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    atomic_write(out / PER_SAMPLE_FILE, lambda handle: handle.write(buffer.getvalue().encode()))


def print_summary(summary: dict[str, Any]) -> None:
    """The result table and the self-checks, on the console (stderr)."""
    title = (f"{summary['model']} ({summary.get('method') or '?'}) on {summary['dataset']}: "
             f"{summary['n_examples']} examples, {summary['norm']} eps={format_eps(summary['eps'], summary['norm'])}")
    table = Table(title=title, caption=f"per-attack accuracy: {summary['per_attack_accuracy_means']}")
    table.add_column("attack")
    table.add_column("accuracy", justify="right")
    table.add_column("seconds", justify="right")
    table.add_row("clean", f"{summary['clean_accuracy']:.2%}", f"{summary['seconds'].get('clean', 0):.1f}")
    for name, value in summary["robust_accuracy"].items():
        table.add_row(name, f"{value:.2%}", f"{summary['seconds'].get(name, 0):.1f}")
    table.add_row("[bold]worst case", f"[bold]{summary['worst_case_accuracy']:.2%}",
                  f"{summary['seconds'].get('total', 0):.1f}")
    console.print(table)
    _print_dynamic_parts(summary)
    checks = Table(title="self-checks")
    checks.add_column("check")
    checks.add_column("status")
    checks.add_column("detail", overflow="fold")
    for name, result in summary["checks"].items():
        style = STATUS_STYLE.get(result["status"], "")
        checks.add_row(name, f"[{style}]{result['status']}[/]", result["detail"])
    console.print(checks)
    console.print(f"results in {summary['out']}")


def _print_dynamic_parts(summary: dict[str, Any]) -> None:
    """An AW-Net's extra results: what the adaptive suite did and the per-regime (pinned) bounds."""
    adaptive = summary.get("details", {}).get("adaptive", {})
    if adaptive.get("first_success_by_candidate"):
        found = ", ".join(f"{name} {count}" for name, count in adaptive["first_success_by_candidate"].items())
        routed = adaptive.get("successes_routed", {})
        console.print(f"adaptive suite, first success by candidate: {found}; routed clean "
                      f"{routed.get('clean', 0):.0%}, adversarial {routed.get('adversarial', 0):.0%}")
    bounds = summary.get("regime_bounds")
    if not bounds:
        return
    table = Table(title="per-regime bounds (every signal pinned: a static network; same examples)")
    table.add_column("regime")
    table.add_column("clean", justify="right")
    for name in bounds["attacks"]:
        table.add_column(name, justify="right")
    table.add_column("worst case", justify="right")
    for regime, pinned in bounds["pinned"].items():
        table.add_row(f"{regime} (r={pinned['pin_signal']:g})", f"{pinned['clean_accuracy']:.2%}",
                      *[f"{pinned['robust_accuracy'][name]:.2%}" for name in bounds["attacks"]],
                      f"{pinned['worst_case_accuracy']:.2%}")
    console.print(table)


def failed_checks(summary: dict[str, Any]) -> list[str]:
    return [name for name, result in summary["checks"].items() if result["status"] == "fail"]

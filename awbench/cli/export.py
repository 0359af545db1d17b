"""`awbench export EVAL_DIR --format robustbench`: parse the options and hand them to awbench.export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from awbench.cli import app


@app.command("export", epilog="Examples:\n\n  awbench export runs/x/eval-aa --format robustbench\n\n"
                              "  awbench export runs/x/eval-aa --out model_info/cifar10/Linf/Me2026Mine.json")
def export_command(
    eval_dir: Annotated[Path, typer.Argument(help="An evaluation folder (summary.json), written by awbench eval.")],
    format: Annotated[str, typer.Option("--format", "-f", help="robustbench (model_info JSON).")] = "robustbench",
    out: Annotated[Path | None, typer.Option(
        help="File or folder to write (default: robustbench_model_info.json in EVAL_DIR).")] = None,
) -> None:
    """Write an evaluation in another benchmark's format; names the fields left for you to fill in."""
    from rich.markup import escape

    from awbench.console import console
    from awbench.export import export_evaluation

    result = export_evaluation(eval_dir, format, out)
    console.print(f"wrote {escape(str(result.path))}", soft_wrap=True)
    if result.missing:
        console.print(f"[yellow]left null, for you to fill in:[/] {', '.join(result.missing)}")
    for note in result.notes:
        console.print(f"[dim]note: {escape(note)}[/]")

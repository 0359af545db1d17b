"""`awbench sweep-signal CHECKPOINT --values 0,0.5,1 -a pgd`: parse options, delegate to evaluation.signal_sweep."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from awbench.cli import app

EPILOG = (
    "Examples:\n\n"
    "  awbench sweep-signal zoo:cifar10-aw-small-cnn-awnet --values 0,0.25,0.5,0.75,1 -a pgd -a autoattack\n\n"
    "  awbench sweep-signal runs/aw --values 0,1 -a pgd --n-examples 200 --out runs/aw/sweep\n\n"
    "Writes one evaluation per r into --out/r<r> (summary.json with pin_signal and a pin_signal curve point); "
    "`awbench compare` draws them as one line. Exits 1 when a self-check fails."
)


@app.command("sweep-signal", epilog=EPILOG)
def sweep_signal_command(
    checkpoint: Annotated[Path, typer.Argument(help="An AW-Net checkpoint .pt, run folder or zoo:NAME.")],
    values: Annotated[str, typer.Option(help="Signal values r in [0, 1], comma-separated, each once.")] = (
        "0,0.25,0.5,0.75,1"),
    attack: Annotated[list[str] | None, typer.Option(
        "--attack", "-a", help="Attacks on each pinned network; repeat for several (default: pgd).")] = None,
    eps: Annotated[str | None, typer.Option(help="Budget, e.g. 8/255 (default: the checkpoint's).")] = None,
    norm: Annotated[str | None, typer.Option(help="Linf | L2 (default: the checkpoint's).")] = None,
    n_examples: Annotated[int, typer.Option(help="Test examples (seeded, class-balanced; the same for every r).")
                          ] = 1000,
    batch_size: Annotated[int | None, typer.Option(help="Images per batch (default: 256 CPU, 1024 CUDA).")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Folder with the data (env: AWBENCH_DATA).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the example selection and of the attacks.")] = 0,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda")] = "auto",
    out: Annotated[Path | None, typer.Option(help="Output folder (one r<r> folder per value inside).")] = None,
    steps: Annotated[int, typer.Option(help="pgd / cw: steps per restart.")] = 20,
    restarts: Annotated[int, typer.Option(help="pgd / cw: restarts.")] = 1,
    json_output: Annotated[bool, typer.Option("--json", help="Print only the summaries as a JSON list.")] = False,
) -> None:
    """Evaluate an AW-Net with its signals pinned at each r: the fixed-r trade-off curve."""
    from awbench.evaluation import failed_checks, print_summary
    from awbench.evaluation.signal_sweep import sweep_signal

    summaries = sweep_signal(checkpoint, values=values, attacks=attack or ["pgd"], out=out, eps=eps, norm=norm,
                             n_examples=n_examples, batch_size=batch_size, data_dir=data_dir, seed=seed,
                             device=device, steps=steps, restarts=restarts, show_progress=not json_output)
    if json_output:
        typer.echo(json.dumps(summaries, indent=2))
    else:
        for summary in summaries:
            print_summary(summary)
    failed = [f"r={summary['pin_signal']:g}: {name}" for summary in summaries for name in failed_checks(summary)]
    if failed:
        typer.echo(f"error: self-check failed: {', '.join(failed)}", err=True)
        raise typer.Exit(1)

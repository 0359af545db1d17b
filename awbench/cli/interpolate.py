"""`awbench interpolate CKPT_A CKPT_B --alphas ...`: parse options and hand them to awbench.interpolation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from awbench.cli import app

EPILOG = (
    "Examples:\n\n"
    "  awbench interpolate zoo:cifar10-small-cnn-standard zoo:cifar10-small-cnn-pgd-at --alphas 0,0.25,0.5,0.75,1 "
    "-a pgd --n-examples 500\n\n"
    "  awbench interpolate runs/a runs/b --alphas 0,0.5,1 --no-reestimate-bn --out runs/interp-ab\n\n"
    "Writes OUT/alpha-<a>/interpolated.pt and OUT/alpha-<a>/eval/summary.json (with a \"curve\" entry): "
    "`awbench compare` draws them as one labelled line. Exits 1 when a self-check fails."
)


@app.command("interpolate", epilog=EPILOG)
def interpolate_command(
    checkpoint_a: Annotated[str, typer.Argument(help="Checkpoint at alpha = 0 (.pt, run folder or zoo:NAME).")],
    checkpoint_b: Annotated[str, typer.Argument(help="Checkpoint at alpha = 1, same architecture.")],
    alphas: Annotated[str, typer.Option(help="Comma-separated alphas in [-1, 2].")] = "0,0.25,0.5,0.75,1",
    attack: Annotated[list[str] | None, typer.Option("--attack", "-a", help="Attacks, repeat for several "
                                                                           "(default: pgd).")] = None,
    eps: Annotated[str | None, typer.Option(help="Budget, e.g. 8/255 (default: A's, else B's training eps).")] = None,
    norm: Annotated[str | None, typer.Option(help="Linf | L2 (default: the checkpoint's).")] = None,
    n_examples: Annotated[int, typer.Option(help="Test examples (seeded, class-balanced).")] = 1000,
    reestimate_bn: Annotated[bool, typer.Option(
        help="Re-estimate batch-norm statistics of each interpolated model on training images.")] = True,
    bn_examples: Annotated[int, typer.Option(help="Training images for the batch-norm statistics.")] = 2000,
    label: Annotated[str | None, typer.Option(help="Name of the curve (default: 'A to B').")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Images per batch.")] = None,
    steps: Annotated[int, typer.Option(help="pgd / cw / adaptive: steps per restart.")] = 20,
    data_dir: Annotated[Path | None, typer.Option(help="Folder with the data (env: AWBENCH_DATA).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the example selections and of the attacks.")] = 0,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda")] = "auto",
    out: Annotated[Path | None, typer.Option(help="Output folder (default: runs/interpolate-A-B).")] = None,
) -> None:
    """Evaluate the weight interpolations (1 - alpha) * A + alpha * B of two checkpoints of one architecture."""
    from awbench.evaluation import failed_checks
    from awbench.interpolation import interpolate_and_evaluate, print_interpolation

    summaries = interpolate_and_evaluate(
        checkpoint_a, checkpoint_b, alphas=alphas, out=out, reestimate_bn=reestimate_bn, bn_examples=bn_examples,
        label=label, data_dir=data_dir, seed=seed, attacks=attack or ["pgd"], eps=eps, norm=norm,
        n_examples=n_examples, batch_size=batch_size, steps=steps, device=device,
    )
    print_interpolation(summaries)
    failed = [f"alpha {s['curve']['value']:g}: {name}" for s in summaries for name in failed_checks(s)]
    if failed:
        typer.echo(f"error: self-check failed: {', '.join(failed)}", err=True)
        raise typer.Exit(1)

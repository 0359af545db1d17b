"""`awbench weights CKPT [CKPT ...]`: parse the options and hand them to awbench.analysis.weights."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from awbench.cli import app
from awbench.console import console


@app.command(
    "weights",
    epilog=(
        "Example:\n\n"
        "  awbench weights zoo:cifar10-small-cnn-standard zoo:cifar10-small-cnn-trades "
        "zoo:cifar10-aw-small-cnn-awnet --out runs/weights"
    ),
)
def weights(
    checkpoints: Annotated[list[str], typer.Argument(help="Checkpoint files, run folders or zoo:NAME.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the CSV files and the figure.")] = Path(
        "runs/weights"),
    max_layers: Annotated[int | None, typer.Option(help="Plot only the first N conv layers (CSV: all).")] = None,
) -> None:
    """Filter-weight distributions per conv layer: static checkpoints and an AW-Net's clean and adversarial banks.

    Writes weights_summary.csv (per checkpoint, layer and bank: weight mean/std/kurtosis, per-filter variance and
    norm, the adversarial bank's relative distance to the clean one), weights_histograms.csv, weights.png/.svg.
    """
    from rich.table import Table

    from awbench.analysis.weights import analyse, write

    result = analyse(checkpoints)
    paths = write(result, out, max_layers)
    table = Table(title="Filter banks (per-filter weight variance and L2 norm: means over the layer's filters)")
    for column in ("checkpoint", "layer", "bank", "filters", "std", "filter var", "filter norm", "adv-clean"):
        table.add_column(column, justify="left" if column in ("checkpoint", "layer", "bank") else "right")
    for row in result.summaries():
        distance = row["distance_to_clean"]
        table.add_row(str(row["checkpoint"]), str(row["layer"]), str(row["bank"]), str(row["filters"]),
                      f"{row['std']:.4f}", f"{row['filter_variance_mean']:.2e}", f"{row['filter_norm_mean']:.3f}",
                      f"{distance:.1%}" if isinstance(distance, float) else "-")
    console.print(table)
    console.print("wrote " + ", ".join(str(path) for path in paths))

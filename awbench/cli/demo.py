"""`awbench demo`: parse the options and hand them to awbench.demo.run_demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from awbench.cli import app

EPILOG = (
    "Examples:\n\n"
    "  awbench demo\n\n"
    "  awbench demo --quick --out /tmp/demo-quick\n\n"
    "  awbench demo --data-dir ~/data --out results/demo-full --device cuda\n\n"
    "Data: the CIFAR-10 sample shipped with awbench (2,000 training and 500 test images, no network needed), "
    "or a full CIFAR-10 in --data-dir (see: awbench data prepare --help). Writes "
    "into --out: comparison.csv/.md/.tex, pareto.png/.svg, the run folders under runs/ and demo.json. Rerunning "
    "the same command skips finished steps and resumes a killed one."
)


@app.command("demo", epilog=EPILOG)
def demo(
    data_dir: Annotated[Path | None, typer.Option(
        help="Folder holding a full CIFAR-10 (cifar10_train.npz / cifar10_test.npz or torchvision's files) "
             "[default: the CIFAR-10 sample shipped with awbench].")] = None,
    out: Annotated[Path, typer.Option(help="Folder for the runs, the table and the plot; the same folder "
                                           "again continues the demo.")] = Path("awbench-demo"),
    quick: Annotated[bool, typer.Option(
        help="Under a minute on 2 CPU cores: tiny subset, 1 epoch, reduced AutoAttack. Checks the pipeline; "
             "the numbers mean nothing.")] = False,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda")] = "auto",
    seed: Annotated[int, typer.Option(help="Seed of the subsets, the training and the attacks.")] = 0,
) -> None:
    """Train standard, PGD-AT, TRADES and AW-Net models on a CIFAR-10 subset, attack them, compare them.

    A few minutes on 2 CPU cores (--quick: about a minute); ends with a trade-off table and a Pareto plot.
    """
    from awbench.demo import run_demo

    run_demo(data_dir=data_dir, out=out, quick=quick, device=device, seed=seed)

"""`awbench compare`: parse the options and hand them to awbench.compare."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from awbench.cli import app


@app.command("compare")
def compare(
    runs_dir: Annotated[
        Path, typer.Argument(help="Folder holding run folders and evaluation folders (summary.json), e.g. runs/")
    ],
    metric: Annotated[
        str,
        typer.Option(
            "--metric",
            "-m",
            help="Robust accuracy used for the Pareto front and WRA: 'worst' (worst case over attacks) or an "
            "attack found in the evaluations, e.g. autoattack, pgd, cw.",
        ),
    ] = "worst",
    weight: Annotated[
        float, typer.Option("--weight", "-w", help="w in WRA_w = w*clean + (1-w)*robust; in [0, 1].")
    ] = 0.5,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder for the tables and plots (default: RUNS_DIR).")
    ] = None,
    table_formats: Annotated[
        str, typer.Option("--format", "-f", help="Comma-separated table formats: csv, md, tex.")
    ] = "csv,md,tex",
    reference: Annotated[str | None, typer.Option(
        help="robustbench: add the published leaderboard entries of the same dataset/norm/eps (grey points, "
             "method 'published').")] = None,
    plot: Annotated[bool, typer.Option("--plot/--no-plot", help="Draw pareto.png/.svg (and robustness_vs_eps "
                                                            "when a model was evaluated at several budgets).")] = True,
    against: Annotated[str | None, typer.Option(
        "--against", help="A run name (or evaluation folder): print and write only its paired tests with the "
                          "evaluations made on the same examples.")] = None,
) -> None:
    """Tabulate every run and evaluation under RUNS_DIR and mark the accuracy-robustness Pareto front.

    Writes comparison.csv/.md/.tex (with Wilson 95% intervals), pareto.png/.svg, and when evaluations share
    their examples pairwise.csv/.md (McNemar exact tests, paired-bootstrap WRA difference; never between
    evaluations on different examples); robustness_vs_eps.png/.svg for models evaluated at several budgets.

    Rows evaluated under another dataset, norm, eps, number of examples or attack set form separate groups, each
    with its own front.

    Examples:

      awbench compare runs/

      awbench compare runs/ --metric autoattack --weight 0.7 --out results/ --format csv,md

      awbench compare runs/ --reference robustbench

      awbench compare runs/ --against zoo-cifar10-small-cnn-pgd-at
    """
    from awbench.compare import compare_runs, print_comparison  # pandas, matplotlib: only when comparing

    result = compare_runs(runs_dir, metric=metric, weight=weight, out=out, formats=table_formats, plot=plot,
                          reference=reference, against=against)
    print_comparison(result)

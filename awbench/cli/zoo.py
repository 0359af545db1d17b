"""`awbench zoo list | info NAME`: the architectures and the published checkpoints of the model zoo."""

from __future__ import annotations

from typing import Annotated

import typer
from rich import box
from rich.table import Table

from awbench.cli import app
from awbench.console import console

zoo_app = typer.Typer(help="Browse the model zoo: architectures and published checkpoints.", no_args_is_help=True)
app.add_typer(zoo_app, name="zoo")


@zoo_app.command("list", epilog="Examples:\n\n  awbench zoo list\n\n  awbench zoo list --published --dataset cifar10 "
                                 "--threat Linf")
def list_zoo(
    published: Annotated[bool, typer.Option(help="List RobustBench's published models (rb:MODEL_ID) instead.")] = False,
    dataset: Annotated[str | None, typer.Option(help="--published: cifar10 | cifar100 | imagenet.")] = None,
    threat: Annotated[str | None, typer.Option(help="--published: Linf | L2.")] = None,
) -> None:
    """List registered architectures and published checkpoints (--published: RobustBench's leaderboard)."""
    if published:
        from awbench.models.published import print_published

        print_published(dataset, threat)
        return
    import model_zoo
    from awbench.compare.pareto import format_eps
    from model_zoo.aw import describe_design, design_of
    from model_zoo.manifest import entries

    table = Table(title="Architectures (model_zoo.create(name))")
    table.add_column("name")
    table.add_column("kind")
    for name in model_zoo.available():
        table.add_row(name, describe_design(name))
    console.print(table)
    checkpoints = Table(title="Checkpoints (model_zoo/manifest.json; details: awbench zoo info NAME)",
                        caption="worst: the worst case over the attacks in `awbench zoo info NAME`",
                        box=box.SIMPLE_HEAD)
    for column in ("name (zoo:NAME)", "dataset", "threat", "method", "clean", "worst"):
        checkpoints.add_column(column, no_wrap=True)  # names are what users type: never cut
    for item in entries():
        reported = item.reported
        checkpoints.add_row(
            item.name, item.dataset, f"{item.threat_model} {format_eps(item.eps, item.threat_model)}", item.method,
            _percent(reported.get("clean_accuracy")), _percent(reported.get("robust_accuracy")),
        )
    console.print(checkpoints if checkpoints.row_count else "[dim]no published checkpoints in the manifest[/dim]")
    for item in entries():  # which AW-Net design each dynamic checkpoint holds (the table stays narrow)
        if design_of(item.architecture) is not None:
            console.print(f"{item.name}: {item.architecture}, {describe_design(item.architecture)}")


@zoo_app.command("info", epilog="Examples:\n\n  awbench zoo info resnet18\n\n  awbench zoo info aw-resnet18")
def info(name: Annotated[str, typer.Argument(help="An architecture or a checkpoint name.")]) -> None:
    """Show one architecture (parameter count) or one checkpoint (manifest entry)."""
    import model_zoo
    from awbench.errors import UnknownNameError
    from model_zoo.aw import describe_design
    from model_zoo.manifest import entries

    checkpoints = {item.name: item for item in entries()}
    if name in checkpoints:
        for key, value in vars(checkpoints[name]).items():
            console.print(f"[bold]{key}[/bold]: {value}")
        console.print(f"[bold]design[/bold]: {checkpoints[name].design}")
        return
    if name not in model_zoo.available():
        raise UnknownNameError("architecture or checkpoint", name, [*model_zoo.available(), *checkpoints])
    model = model_zoo.create(name)
    parameters = sum(p.numel() for p in model.parameters())
    console.print(f"[bold]{name}[/bold]: {parameters:,} parameters; input 3x32x32 in [0, 1], 10 classes by default")
    console.print(f"design: {describe_design(name)}")


def _percent(value: object) -> str:
    return f"{value:.1%}" if isinstance(value, float) else "-"

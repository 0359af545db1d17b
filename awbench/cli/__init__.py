"""The `awbench` command line. Each command lives in its own module, parses its options and delegates.

`main()` turns every awbench error into one line on stderr and a non-zero exit code (no traceback).
"""

from __future__ import annotations

import sys

import typer

from awbench.errors import AwbenchError

app = typer.Typer(
    name="awbench",
    help=(
        "Judge the accuracy-robustness trade-off of image classifiers: train AW-Net and baselines, "
        "evaluate them under attack, compare runs.\n\n"
        "Examples:\n\n"
        "  awbench demo --data-dir ../shared/data\n\n"
        "  awbench train cifar10 --model small-cnn --method pgd-at --epochs 1 --subset 2000\n\n"
        "  awbench eval runs/small-cnn-pgd-at/best.pt --attack pgd --attack autoattack\n\n"
        "  awbench compare runs/"
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)


def _register_commands() -> None:
    # Imported here so that each command module can import `app` from this package.
    from awbench.cli import compare, demo, eval, train, zoo  # noqa: F401


def main() -> None:
    _register_commands()
    try:
        app()  # standalone: Typer reports bad options/arguments itself (usage line, exit code 2)
    except AwbenchError as error:
        typer.echo("error: " + " ".join(str(error).split()), err=True)  # always one line
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)

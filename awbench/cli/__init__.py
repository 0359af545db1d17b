"""The `awbench` command line. Each command lives in its own module, parses its options and delegates.

`main()` turns every awbench error and every usage error (a bad option, a missing argument, an unknown
command) into one line on stderr and a non-zero exit code (no traceback).
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
    from awbench.cli import compare, demo, eval, sweep_signal, train, zoo  # noqa: F401


# click's base exception, found through a public Typer class: Typer vendors its own copy of click (>= 0.2x)
# or uses click itself (older releases), and both keep the class's name.
_CLICK_EXCEPTION = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def _subcommands(context) -> list[str]:
    """The subcommand names that led to `context` (`["zoo"]` for `awbench zoo`), root excluded."""
    names = []
    while context.parent is not None:
        names.append(context.info_name)
        context = context.parent
    return names[::-1]


def main() -> None:
    _register_commands()
    try:
        code = app(standalone_mode=False)  # errors come back here, so that each is said on one line
    except _CLICK_EXCEPTION as error:  # a bad option or argument, an unknown command
        context = getattr(error, "ctx", None)
        if type(error).__name__ == "NoArgsIsHelpError":  # `awbench` or `awbench zoo` alone: the help
            app(args=[*_subcommands(context), "--help"], standalone_mode=False)
            sys.exit(error.exit_code)
        where = context.command_path if context is not None else "awbench"
        typer.echo(f"error: {' '.join(error.format_message().split())} (see: {where} --help)", err=True)
        sys.exit(error.exit_code)
    except AwbenchError as error:
        typer.echo("error: " + " ".join(str(error).split()), err=True)  # always one line
        sys.exit(error.exit_code)
    except OSError as error:  # an output folder that cannot be made, a file in the way, a full disk...
        where = f": {error.filename}" if error.filename else ""
        typer.echo(f"error: {error.strerror or error}{where}", err=True)
        sys.exit(1)
    except (KeyboardInterrupt, typer.Abort):
        typer.echo("interrupted", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)

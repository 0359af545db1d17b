"""The `awbench` command line. Each command lives in its own module, parses its options and delegates.

`main()` turns every awbench error and every usage error (a bad option, a missing argument, an unknown
command) into one line on stderr and a non-zero exit code (no traceback).
"""

from __future__ import annotations

import re
import sys

import typer

from awbench.errors import USER_ERRORS, suggest


def keep_examples_unwrapped(text: str | None) -> str | None:
    """Mark each indented paragraph (an example command) so that click prints it as written: a rewrapped
    command split over two lines cannot be copied."""
    if not text:
        return text
    paragraphs = text.split("\n\n")
    return "\n\n".join("\b\n" + p if p.startswith("  ") and not p.startswith("\b") else p for p in paragraphs)


app = typer.Typer(
    name="awbench",
    help=keep_examples_unwrapped(
        "Judge the accuracy-robustness trade-off of image classifiers: train AW-Net and baselines, "
        "evaluate them under attack, compare runs.\n\n"
        "Examples:\n\n"
        "  awbench demo\n\n"
        "  awbench train cifar10 --model small-cnn --method pgd-at --epochs 1 --subset 2000\n\n"
        "  awbench eval runs/cifar10-small-cnn-pgd-at --attack pgd --attack autoattack\n\n"
        "  awbench compare runs/\n\n"
        "Data: CIFAR-10 from --data-dir, else $AWBENCH_DATA, else ~/.cache/awbench/data, else the 2,000/500-image "
        "sample shipped with awbench (see: awbench data --help)."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,  # help text as written: literal [brackets] stay (rich markup would eat them)
)


def _register_commands() -> None:
    # Imported here so that each command module can import `app` from this package. Command modules import
    # only typer and rich at the top (torch, pandas, matplotlib inside the command), so --help stays fast.
    from awbench.cli import (  # noqa: F401
        compare,
        data,
        demo,
        eval,
        export,
        interpolate,
        sweep_signal,
        train,
        weights,
        zoo,
    )

    groups = [group.typer_instance for group in app.registered_groups]
    for info in [*app.registered_commands, *(info for group in groups for info in group.registered_commands)]:
        info.epilog = keep_examples_unwrapped(info.epilog)


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


def _command_suggestion(error: Exception, context) -> str:
    """' Did you mean 'eval'?' for an unknown command close to a real one (`awbench evl`), else ''."""
    name = _unknown_command(str(error.format_message()))
    if name is None or context is None or not hasattr(context.command, "list_commands"):
        return ""
    close = suggest(name, context.command.list_commands(context))
    return f" Did you mean '{close}'?" if close else ""


def _unknown_command(message: str) -> str | None:
    match = re.match(r"No such command '(.+)'", message)
    return match.group(1) if match else None


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
        message = " ".join(error.format_message().split()) + _command_suggestion(error, context)
        typer.echo(f"error: {message} (see: {where} --help)", err=True)
        sys.exit(error.exit_code)
    except USER_ERRORS as error:  # awbench's and the model zoo's errors: a user's mistake
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

"""`awbench train DATASET ...`: parse options into a TrainConfig and hand it to awbench.training.train."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from awbench.cli import app
from awbench.console import console
from awbench.data.names import DatasetName
from awbench.training.config import SCHEDULES, TrainConfig
from awbench.training.method_names import METHODS

DEFAULTS = TrainConfig()


def default(name: str, help: str) -> str:
    """`help` with TrainConfig's default of field `name`: an option left out takes the dataclass default, so
    that the defaults are written once, in awbench/training/config.py."""
    return f"{help} [default: {getattr(DEFAULTS, name)}]"


def choices(names) -> str:
    return " | ".join(names)


def confirm_at_terminal(message: str) -> bool:
    """Ask before a run of hours when a person is at the terminal; in scripts say it and go on."""
    import sys

    if sys.stdin.isatty() and sys.stderr.isatty():
        return typer.confirm(f"{message}. Start it anyway?", default=False, err=True)
    console.print(f"[yellow]note:[/] {message}", highlight=False, soft_wrap=True)
    return True


@app.command(
    epilog=(
        "Examples:\n\n"
        "  awbench train cifar10 --model small-cnn --method pgd-at --epochs 1 --subset 2000\n\n"
        "  awbench train cifar10 --model resnet18 --method trades --epochs 100 --beta 6\n\n"
        "  awbench train cifar10 --model aw-resnet18 --method awnet --clean-teacher runs/std/best.pt "
        "--robust-teacher runs/at/best.pt\n\n"
        "  awbench train cifar10 --resume runs/cifar10-small-cnn-pgd-at --epochs 20\n\n"
        "Writes runs/<name>/: config.json, train_log.csv (a row per epoch), checkpoint.pt (last, resumable) "
        "and best.pt (best held-out PGD accuracy)."
    )
)
def train(
    dataset: Annotated[str | None, typer.Argument(
        help=default("dataset", choices(d.value for d in DatasetName)), show_default=False)] = None,
    model: Annotated[str | None, typer.Option(
        help=default("model", "Architecture from the zoo (`awbench zoo list`)."))] = None,
    method: Annotated[str | None, typer.Option(help=default("method", choices(METHODS)))] = None,
    epochs: Annotated[int | None, typer.Option(
        help=default("epochs", "Epochs (with --resume: the run's own unless given)."))] = None,
    batch_size: Annotated[int | None, typer.Option(help=default("batch_size", "Images per batch."))] = None,
    lr: Annotated[float | None, typer.Option(help=default("lr", "Initial SGD learning rate."))] = None,
    momentum: Annotated[float | None, typer.Option(help=default("momentum", "SGD momentum."))] = None,
    weight_decay: Annotated[float | None, typer.Option(help=default("weight_decay", "SGD weight decay."))] = None,
    schedule: Annotated[str | None, typer.Option(
        help=default("schedule", choices(SCHEDULES) + " (piecewise: x0.1 at 50%/75%)"))] = None,
    norm: Annotated[str | None, typer.Option(
        help=default("norm", "Threat model of the inner attack: Linf | L2"))] = None,
    eps: Annotated[str | None, typer.Option(help="Attack budget, e.g. 8/255 or 0.5 [default: 8/255]")] = None,
    step_size: Annotated[str | None, typer.Option(help="PGD step size, e.g. 2/255 [default: 2/255]")] = None,
    steps: Annotated[int | None, typer.Option(help=default("steps", "PGD steps of the inner attack."))] = None,
    beta: Annotated[float | None, typer.Option(help=default("beta", "TRADES/MART regulariser weight."))] = None,
    router_weight: Annotated[float | None, typer.Option(
        help=default("router_weight", "AW-Net: weight of the router's detection loss."))] = None,
    clean_teacher: Annotated[Path | None, typer.Option(help="AW-Net: standard-trained teacher (MTARD).")] = None,
    robust_teacher: Annotated[Path | None, typer.Option(help="AW-Net: robust teacher checkpoint (MTARD).")] = None,
    temperature_balance: Annotated[bool | None, typer.Option(help=default(
        "temperature_balance", "AW-Net with teachers: B-MTARD's entropy-based balance of the teachers' "
        "temperatures."))] = None,
    router_evasion: Annotated[float | None, typer.Option(help=default(
        "router_evasion", "AW-Net: share in [0, 1] of each batch's adversarial examples made by the evaluation's "
        "router-evading attacks (regime-clean, low-frequency)."))] = None,
    router_input: Annotated[str | None, typer.Option(help="AW-Net router reads: residual | raw | both.")] = None,
    router_shortcut: Annotated[bool | None, typer.Option(
        help="AW-Net: each signal head adds the detection logit [default: on].")] = None,
    router_width: Annotated[int | None, typer.Option(help="AW-Net: router's first conv width [default: 16].")] = None,
    rank_fraction: Annotated[float | None, typer.Option(
        help="aw-lr-* models: rank of the adversarial correction / filters, in (0, 1] [default: 0.25].")] = None,
    subset: Annotated[int | None, typer.Option(help="Train on a class-balanced subset of N images.")] = None,
    val_size: Annotated[int | None, typer.Option(
        help=default("val_size", "Held-out training images that select best.pt (0: none)."))] = None,
    augment: Annotated[bool | None, typer.Option(help=default("augment", "Random crop + flip."))] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Folder with the data [env: AWBENCH_DATA].")] = None,
    download: Annotated[bool | None, typer.Option(
        help=default("download", "Download with torchvision if not found."))] = None,
    out: Annotated[Path | None, typer.Option(help=default("out", "Parent folder of run folders."))] = None,
    name: Annotated[str | None, typer.Option(help="Run name [default: DATASET-MODEL-METHOD].")] = None,
    seed: Annotated[int | None, typer.Option(
        help=default("seed", "Seed of subset, shuffling, init and attacks."))] = None,
    device: Annotated[str | None, typer.Option(help=default("device", "auto | cpu | cuda"))] = None,
    amp: Annotated[bool | None, typer.Option(help=default("amp", "bf16 autocast (CUDA only)."))] = None,
    channels_last: Annotated[bool | None, typer.Option(
        help=default("channels_last", "channels_last memory format (CUDA only)."))] = None,
    compile: Annotated[bool | None, typer.Option(help=default("compile", "torch.compile the model."))] = None,
    resume: Annotated[Path | None, typer.Option(help="Continue the run in this folder from checkpoint.pt.")] = None,
) -> None:
    """Train a model from the zoo with a training method (standard, PGD-AT, TRADES, MART, AW-Net)."""
    from awbench.distributed import is_main_process
    from awbench.training import config_for_resume
    from awbench.training import train as run_training

    # The options given (not None) among TrainConfig's fields; locals() here holds just the parameters (and the
    # three names imported above, which are no fields). What is not given keeps the dataclass default.
    given = {key: str(value) if isinstance(value, Path) else value for key, value in locals().items()
             if key in TrainConfig.__dataclass_fields__ and value is not None}
    model_options = {key: value for key, value in (
        ("router_input", router_input), ("router_shortcut", router_shortcut), ("router_width", router_width),
        ("adversarial_rank_fraction", rank_fraction)) if value is not None}
    if resume is not None:
        config = config_for_resume(resume, **given, **({"model_options": model_options} if model_options else {}))
    else:
        config = TrainConfig(**given, model_options=model_options)
    run_dir = run_training(config, resume=resume is not None, confirm=confirm_at_terminal)
    if is_main_process():
        console.print(f"[green]done[/green]: {run_dir}/ (best.pt, checkpoint.pt, train_log.csv, config.json)")

"""`awbench train DATASET ...`: parse options into a TrainConfig and hand it to awbench.training.train."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from awbench.cli import app
from awbench.console import console


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
    dataset: Annotated[str, typer.Argument(help="cifar10 | cifar100 | svhn | mnist")] = "cifar10",
    model: Annotated[str, typer.Option(help="Architecture from the zoo (`awbench zoo list`).")] = "small-cnn",
    method: Annotated[str, typer.Option(help="standard | pgd-at | trades | mart | awnet")] = "pgd-at",
    epochs: Annotated[
        int | None, typer.Option(help="Epochs (10 for a new run; with --resume, the run's own unless given).")
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Images per batch.")] = 128,
    lr: Annotated[float, typer.Option(help="Initial SGD learning rate.")] = 0.1,
    momentum: Annotated[float, typer.Option(help="SGD momentum.")] = 0.9,
    weight_decay: Annotated[float, typer.Option(help="SGD weight decay.")] = 5e-4,
    schedule: Annotated[str, typer.Option(help="piecewise (x0.1 at 50%/75%) | cosine | constant")] = "piecewise",
    norm: Annotated[str, typer.Option(help="Threat model of the inner attack: Linf | L2")] = "Linf",
    eps: Annotated[str, typer.Option(help="Attack budget, e.g. 8/255 or 0.5")] = "8/255",
    step_size: Annotated[str, typer.Option(help="PGD step size, e.g. 2/255")] = "2/255",
    steps: Annotated[int, typer.Option(help="PGD steps of the inner attack.")] = 10,
    beta: Annotated[float, typer.Option(help="TRADES/MART regulariser weight.")] = 6.0,
    router_weight: Annotated[float, typer.Option(help="AW-Net: weight of the router's detection loss.")] = 1.0,
    clean_teacher: Annotated[Path | None, typer.Option(help="AW-Net: standard-trained teacher (MTARD).")] = None,
    robust_teacher: Annotated[Path | None, typer.Option(help="AW-Net: robust teacher checkpoint (MTARD).")] = None,
    temperature_balance: Annotated[bool, typer.Option(
        help="AW-Net with teachers: B-MTARD's entropy-based balance of the teachers' temperatures.")] = False,
    router_evasion: Annotated[float, typer.Option(
        help="AW-Net: share in [0, 1] of each batch's adversarial examples made by the evaluation's "
             "router-evading attacks (regime-clean, low-frequency).")] = 0.0,
    router_input: Annotated[str | None, typer.Option(help="AW-Net router reads: residual | raw | both.")] = None,
    router_shortcut: Annotated[bool | None, typer.Option(
        help="AW-Net: each signal head adds the detection logit [default: on].")] = None,
    router_width: Annotated[int | None, typer.Option(help="AW-Net: router's first conv width [default: 16].")] = None,
    rank_fraction: Annotated[float | None, typer.Option(
        help="aw-lr-* models: rank of the adversarial correction / filters, in (0, 1] [default: 0.25].")] = None,
    subset: Annotated[int | None, typer.Option(help="Train on a class-balanced subset of N images.")] = None,
    val_size: Annotated[int, typer.Option(help="Held-out training images that select best.pt (0: none).")] = 500,
    augment: Annotated[bool, typer.Option(help="Random crop + flip.")] = True,
    data_dir: Annotated[Path | None, typer.Option(help="Folder with the data [env: AWBENCH_DATA].")] = None,
    download: Annotated[bool, typer.Option(help="Download with torchvision if not found.")] = False,
    out: Annotated[Path, typer.Option(help="Parent folder of run folders.")] = Path("runs"),
    name: Annotated[str | None, typer.Option(help="Run name [default: DATASET-MODEL-METHOD].")] = None,
    seed: Annotated[int, typer.Option(help="Seed of subset, shuffling, init and attacks.")] = 0,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda")] = "auto",
    amp: Annotated[bool, typer.Option(help="bf16 autocast (CUDA only).")] = True,
    channels_last: Annotated[bool, typer.Option(help="channels_last memory format (CUDA only).")] = True,
    compile: Annotated[bool, typer.Option(help="torch.compile the model.")] = False,
    resume: Annotated[Path | None, typer.Option(help="Continue the run in this folder from checkpoint.pt.")] = None,
) -> None:
    """Train a model from the zoo with a training method (standard, PGD-AT, TRADES, MART, AW-Net)."""
    from awbench.distributed import is_main_process
    from awbench.training import TrainConfig, load_config
    from awbench.training import train as run_training

    if resume is not None:
        resume = resume.resolve()  # `--resume .` names the run folder by its real name
        config = load_config(resume)
        config.out, config.name = str(resume.parent), resume.name
        config.epochs = epochs if epochs is not None else config.epochs
        config.device = device
        if data_dir is not None:
            config.data_dir = str(data_dir)
    else:
        config = TrainConfig(
            dataset=dataset,
            model=model,
            method=method,
            epochs=epochs if epochs is not None else 10,
            batch_size=batch_size,
            lr=lr,
            momentum=momentum,
            weight_decay=weight_decay,
            schedule=schedule,
            norm=norm,
            eps=eps,
            step_size=step_size,
            steps=steps,
            beta=beta,
            router_weight=router_weight,
            clean_teacher=str(clean_teacher) if clean_teacher else None,
            robust_teacher=str(robust_teacher) if robust_teacher else None,
            temperature_balance=temperature_balance,
            router_evasion=router_evasion,
            model_options={key: value for key, value in (
                ("router_input", router_input), ("router_shortcut", router_shortcut), ("router_width", router_width),
                ("adversarial_rank_fraction", rank_fraction)) if value is not None},
            subset=subset,
            val_size=val_size,
            augment=augment,
            data_dir=str(data_dir) if data_dir else None,
            download=download,
            out=str(out),
            name=name,
            seed=seed,
            device=device,
            amp=amp,
            channels_last=channels_last,
            compile=compile,
        )
    run_dir = run_training(config, resume=resume is not None, confirm=confirm_at_terminal)
    if is_main_process():
        console.print(f"[green]done[/green]: {run_dir}/ (best.pt, checkpoint.pt, train_log.csv, config.json)")

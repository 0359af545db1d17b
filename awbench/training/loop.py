"""The training loop: one function a reader holds in one screen, driven by a TrainConfig.

Per epoch: seeded shuffle + augmentation, method.step on each batch, SGD step, then held-out validation
(clean and PGD accuracy), a row in train_log.csv and an atomic checkpoint. `best.pt` keeps the epoch with the
best held-out PGD accuracy. Every epoch re-seeds the global RNG from (seed, epoch), so a run killed after
epoch k and resumed gives the same weights as an uninterrupted one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

import model_zoo
from awbench import distributed, plans, run_layout
from awbench.attacks.pgd import pgd
from awbench.console import console, progress
from awbench.data import ImageData, balanced_subset, epoch_generator, iterate_batches, load_dataset, num_batches
from awbench.device import compile_model, resolve_device
from awbench.threat import Norm
from awbench.training.config import TrainConfig, learning_rate_factor
from awbench.training.methods import build_method
from awbench.training.run_folder import RunFolder

VAL_SEED_OFFSET = 7919  # the validation split is drawn with its own seed, disjoint from the training subset


def split_data(config: TrainConfig) -> tuple[ImageData, ImageData | None]:
    """Training subset and held-out validation images, both class-balanced and fixed by the seed."""
    full = load_dataset(config.dataset, "train", data_dir=config.data_dir, download=config.download)
    val_index = None
    if config.val_size:
        val_index = balanced_subset(full.labels, config.val_size, config.seed + VAL_SEED_OFFSET)
    size = config.subset if config.subset else len(full)
    train_index = balanced_subset(full.labels, size, config.seed, exclude=val_index)
    return full.select(train_index), (full.select(val_index) if val_index is not None else None)


def build_model_for(config: TrainConfig, data: ImageData) -> torch.nn.Module:
    spec = data.spec
    return model_zoo.create(config.model, num_classes=spec.num_classes, in_channels=spec.in_channels,
                            mean=spec.mean, std=spec.std, options=config.model_options)


def validate(model: torch.nn.Module, data: ImageData, config: TrainConfig, device: torch.device) -> dict[str, float]:
    """Clean and PGD accuracy on held-out images (PGD with the training budget, its own fixed seed)."""
    model.eval()
    clean = robust = 0
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(config.seed)
        for x, y in iterate_batches(data, 256, device=device):
            with torch.no_grad():
                clean += (model(x).argmax(1) == y).sum().item()
            x_adv = pgd(model, x, y, eps=config.eps, step_size=config.step_size, steps=config.steps,
                        norm=Norm.parse(config.norm))
            with torch.no_grad():
                robust += (model(x_adv).argmax(1) == y).sum().item()
    return {"val_clean_acc": clean / len(data), "val_pgd_acc": robust / len(data)}


def metadata_for(config: TrainConfig, data: ImageData, epoch: int) -> dict[str, Any]:
    spec = data.spec
    return {
        "architecture": config.model, "num_classes": spec.num_classes, "in_channels": spec.in_channels,
        "mean": list(spec.mean), "std": list(spec.std), "dataset": config.dataset, "method": config.method,
        "norm": config.norm, "eps": config.eps, "epoch": epoch, "run": config.name, "seed": config.seed,
        "model_options": model_zoo.resolved_options(config.model, config.model_options),
        **({"router_evasion": config.router_evasion} if config.method == "awnet" else {}),
    }


def train(config: TrainConfig, *, resume: bool = False, show_progress: bool = True,
          confirm: Callable[[str], bool] | None = None) -> Path:
    """Train according to `config`; return the run folder. With resume, continue from its checkpoint.pt.

    With show_progress, first print the plan and a time estimate; a run estimated at hours on a CPU is put to
    `confirm` (the CLI asks the person at the terminal), and a refusal stops before the first epoch. Rank 0
    holds the run folder's lock from start to end; a run that fails (or is refused, or interrupted) before its
    first checkpoint removes the folder it created.
    """
    config.validate()
    world, device = distributed.setup(resolve_device(config.device))
    method = build_method(config, device)  # loads the teachers: one that fails leaves no run folder behind
    run = RunFolder.for_config(config, resume=resume) if world.is_main else None
    path = distributed.broadcast_object(world, run.path if run is not None else None)
    run = run or RunFolder(path)  # the other ranks neither lock nor write
    try:
        _train_in(run, config, method, world, device, resume, show_progress, confirm)
    except BaseException:
        run.close(failed=True)
        raise
    run.close(failed=False)
    return run.path


def _train_in(run: RunFolder, config: TrainConfig, method, world, device, resume: bool, show_progress: bool,
              confirm: Callable[[str], bool] | None) -> None:
    config.name = run.path.name
    train_data, val_data = split_data(config)
    torch.manual_seed(config.seed)  # weight initialisation
    model = build_model_for(config, train_data).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                                weight_decay=config.weight_decay, nesterov=False)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda e: learning_rate_factor(config, e))
    if device.type == "cuda" and config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    start_epoch, best = 0, -1.0
    if resume:
        start_epoch, best = run.restore(model, optimizer, scheduler, method)
    if show_progress and world.is_main:
        estimate = plans.training_estimate(config, model, train_data, val_data, method.adversarial, device,
                                           start_epoch)
        plans.print_training_plan(config, model, train_data, val_data, method.adversarial, device, start_epoch,
                                  estimate)
        plans.confirm_long_run(config, len(train_data), estimate, device, confirm)  # refused: folder removed
    step_model = compile_model(model, config.compile) if config.compile else model
    if world.distributed:  # gradients averaged across ranks; each rank sees 1/world of every global batch
        step_model = torch.nn.parallel.DistributedDataParallel(
            step_model, device_ids=[device.index] if device.type == "cuda" else None)
    if world.is_main:
        run.write_config(config, data=train_data.provenance())
    show_progress = show_progress and world.is_main

    session = Session(config, run, model, step_model, method, optimizer, scheduler, train_data, val_data, world,
                      device)
    try:
        _run_epochs(session, start_epoch, best, show_progress)
    except KeyboardInterrupt:
        if world.is_main:
            console.print(f"[yellow]interrupted[/]: {interrupt_advice(run.path)}", soft_wrap=True)
        raise


def interrupt_advice(run_path: Path) -> str:
    """What to do after Ctrl-C: resume from the last finished epoch, or, before the first one, start again."""
    last = run_path / run_layout.LAST_CHECKPOINT
    if last.is_file():
        return f"finished epochs are saved; continue with awbench train --resume {run_path}"
    return (f"stopped before the first epoch ended, so there is nothing to resume (no {last}"
            "); start again: rerun the same awbench train command (not --resume)")


@dataclass
class Session:
    """What every epoch of one training run works with (built once by `_train_in`)."""

    config: TrainConfig
    run: RunFolder
    model: torch.nn.Module  # the weights that are saved and validated
    step_model: torch.nn.Module  # what a training step calls: the model, compiled and/or wrapped in DDP
    method: Any
    optimizer: torch.optim.Optimizer
    scheduler: Any
    train_data: Any
    val_data: Any
    world: distributed.World
    device: torch.device


def _run_epochs(session: Session, start_epoch: int, best: float, show_progress: bool) -> None:
    config = session.config
    batches = num_batches(len(session.train_data), config.batch_size)
    clock = plans.FirstBatchesClock(batches, config.epochs - start_epoch)
    for epoch in range(start_epoch, config.epochs):
        started = time.perf_counter()
        row = _train_epoch(session, epoch, clock, show_progress)
        session.scheduler.step()
        if session.world.is_main:  # rank 0 validates, logs and writes checkpoints; the others wait
            best = _finish_epoch(session, epoch, row, best, started, show_progress)
        distributed.barrier(session.world)


def _train_epoch(session: Session, epoch: int, clock: plans.FirstBatchesClock, show_progress: bool) -> dict[str, float]:
    """One pass over this rank's shard of the training data; the epoch's log row (statistics over all ranks)."""
    config, method, world, train_data = session.config, session.method, session.world, session.train_data
    autocast = session.device.type == "cuda" and config.amp
    torch.manual_seed(config.seed * 1000 + epoch)
    generator = epoch_generator(config.seed, epoch)
    method.start_epoch(epoch)
    session.model.train()
    totals = {"loss": 0.0, "clean": 0, "adv": 0, "seen": 0}
    extra: dict[str, float] = {}
    batches = iterate_batches(train_data, config.batch_size, device=session.device, shuffle=True,
                              augment_images=config.augment, generator=generator, rank=world.rank,
                              world_size=world.size)
    with progress(disable=not show_progress) as bar:
        task = bar.add_task(f"epoch {epoch + 1}/{config.epochs}", total=num_batches(len(train_data),
                            config.batch_size), info="")
        for index, (x, y) in enumerate(batches):
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
                result = method.step(session.step_model, x, y)
            session.optimizer.zero_grad(set_to_none=True)
            (result.loss * _shard_weight(len(y), index, len(train_data), config.batch_size, world)).backward()
            session.optimizer.step()
            n = len(y)
            totals["seen"] += n
            totals["loss"] += result.loss.item() * n
            totals["clean"] += (result.clean_logits.argmax(1) == y).sum().item()
            if result.adv_logits is not None:
                totals["adv"] += (result.adv_logits.argmax(1) == y).sum().item()
            for key, value in (result.stats or {}).items():
                extra[key] = extra.get(key, 0.0) + value * n
            bar.update(task, advance=1, info=_describe(totals, method.adversarial))
            if show_progress:
                clock.batch_finished(index)
    if world.distributed:  # epoch statistics over all ranks' shards
        totals, extra = _sum_over_ranks(world, totals, extra)
    return {"epoch": epoch + 1, "lr": session.optimizer.param_groups[0]["lr"],
            **_epoch_statistics(totals, extra, method.adversarial)}


def _finish_epoch(session: Session, epoch: int, row: dict[str, float], best: float, started: float,
                  show_progress: bool) -> float:
    """Rank 0: validate, log and save the epoch (best.pt when its validation PGD accuracy is the best so far)."""
    config = session.config
    if session.val_data is not None:
        row.update(validate(session.model, session.val_data, config, session.device))
    row["seconds"] = time.perf_counter() - started
    score = row.get("val_pgd_acc", -float(epoch))
    is_best = session.val_data is None or score > best
    best = max(best, score) if session.val_data is not None else best
    session.run.save_epoch(session.model, session.optimizer, session.scheduler, session.method,
                           metadata_for(config, session.train_data, epoch + 1), row, best=best, is_best=is_best)
    if show_progress:
        console.print(_summary_line(row))
    return best


def _shard_weight(n_local: int, index: int, n_data: int, batch_size: int, world: distributed.World) -> float:
    """DDP averages the ranks' gradients of their mean losses; when a global batch does not split evenly
    (31 over 2 ranks: 16 + 15 images), weighting each rank's mean by its share makes the step the one a single
    process takes on the whole batch (the losses are means over the batch)."""
    if not world.distributed:
        return 1.0
    n_global = min(batch_size, n_data - index * batch_size)
    return n_local * world.size / n_global


def _epoch_statistics(totals: dict[str, float], extra: dict[str, float], adversarial: bool) -> dict[str, float]:
    seen = max(1, totals["seen"])
    return {
        "train_loss": totals["loss"] / seen, "train_clean_acc": totals["clean"] / seen,
        "train_adv_acc": totals["adv"] / seen if adversarial else float("nan"),
        **{key: value / seen for key, value in extra.items()},
    }


def _sum_over_ranks(world, totals: dict[str, float], extra: dict[str, float]):
    gathered = distributed.gather_objects(world, (totals, extra))
    summed_totals = {key: sum(part[0][key] for part in gathered) for key in totals}
    summed_extra = {key: sum(part[1].get(key, 0.0) for part in gathered) for key in extra}
    return summed_totals, summed_extra


def _describe(totals: dict[str, float], adversarial: bool) -> str:
    seen = max(1, totals["seen"])
    text = f"loss {totals['loss'] / seen:.3f}  clean {totals['clean'] / seen:.1%}"
    return text + (f"  pgd {totals['adv'] / seen:.1%}" if adversarial else "")


def _summary_line(row: dict[str, float]) -> str:
    parts = [f"epoch {row['epoch']}", f"loss {row['train_loss']:.3f}", f"train clean {row['train_clean_acc']:.1%}"]
    if not math.isnan(row["train_adv_acc"]):
        parts.append(f"train pgd {row['train_adv_acc']:.1%}")
    if "val_clean_acc" in row:
        parts += [f"val clean {row['val_clean_acc']:.1%}", f"val pgd {row['val_pgd_acc']:.1%}"]
    return "  ".join(parts) + f"  ({row['seconds']:.0f}s)"

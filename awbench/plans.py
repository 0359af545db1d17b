"""Long jobs say what they will do: the one-screen plan of a training run or an evaluation, and an estimate
of a training run's time (a rough one before the first batch, a measured one after the first batches).

A run estimated above LONG_RUN_S on a CPU is put to a `confirm` callback (the CLI asks, when a person is at
the terminal) with a CPU-sized budget to suggest; the library itself never prompts.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

import torch

from awbench.console import console, format_eps, format_seconds
from awbench.data import ImageData, num_batches
from awbench.errors import AwbenchError

LONG_RUN_S = 3600.0
PROBE_REPEATS = 2


def describe_data(data: ImageData, of: str = "") -> str:
    origin = {"embedded-sample": "the CIFAR-10 sample shipped with awbench",
              "torchvision": f"torchvision's files in {data.source}"}.get(data.origin, data.source)
    return f"{data.name.value} {data.split}, {len(data):,}{of} images from {origin}"


def forward_backward_seconds(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Seconds of one forward and backward pass on a batch, measured on a copy (the model is not touched)."""
    probe = copy.deepcopy(model).train()
    with torch.random.fork_rng(devices=[]):
        best = float("inf")
        for _ in range(PROBE_REPEATS):  # the first pass pays one-off costs; keep the fastest
            if x.device.type == "cuda":
                torch.cuda.synchronize(x.device)
            began = time.perf_counter()
            torch.nn.functional.cross_entropy(probe(x), y).backward()
            if x.device.type == "cuda":
                torch.cuda.synchronize(x.device)
            best = min(best, time.perf_counter() - began)
    return best


def passes_per_batch(config: Any, adversarial: bool) -> int:
    """Forward+backward passes one training batch costs: the update, plus each step of the inner attack."""
    return 1 + (int(config.steps) if adversarial else 0)


def training_estimate(config: Any, model: torch.nn.Module, train_data: ImageData, val_data: ImageData | None,
                      adversarial: bool, device: torch.device, start_epoch: int = 0) -> float:
    """Rough seconds for the epochs still to run, from one measured forward+backward pass on a batch."""
    n = min(int(config.batch_size), len(train_data))
    x, y = train_data.select(torch.arange(n)).as_float(device)
    per_pass = forward_backward_seconds(model, x, y)
    per_epoch = num_batches(len(train_data), config.batch_size) * passes_per_batch(config, adversarial) * per_pass
    if val_data is not None:  # clean + PGD on the held-out images
        per_epoch += num_batches(len(val_data), config.batch_size) * (1 + int(config.steps)) * per_pass
    return per_epoch * max(0, int(config.epochs) - start_epoch)


def print_training_plan(config: Any, model: torch.nn.Module, train_data: ImageData, val_data: ImageData | None,
                        adversarial: bool, device: torch.device, start_epoch: int, estimate: float) -> None:
    parameters = sum(p.numel() for p in model.parameters())
    inner = (f"PGD-{config.steps} {config.norm} eps {format_eps(config.eps, config.norm)} inside each batch"
             if adversarial else "no attack inside")
    held_out = f"; {len(val_data):,} held out to pick best.pt" if val_data is not None else ""
    epochs = f"{config.epochs} epoch(s)" + (f", from epoch {start_epoch + 1}" if start_epoch else "")
    lines = [
        f"model   {config.model} ({parameters:,} parameters)",
        f"method  {config.method} ({inner})",
        f"data    {describe_data(train_data)}{held_out}",
        f"budget  {epochs} x {num_batches(len(train_data), config.batch_size):,} batches of {config.batch_size}",
        f"device  {device}",
        f"time    about {format_seconds(estimate)} (rough, from one batch; measured after the first batches)",
        "Ctrl-C  stops; finished epochs are kept and --resume continues from the last one",
    ]
    console.print("[bold]plan[/]\n  " + "\n  ".join(lines), highlight=False, soft_wrap=True)


def cpu_budget_hint(config: Any, train_size: int, estimate: float) -> str:
    """A smaller --subset / --epochs that fits about ten minutes at the estimated speed."""
    per_image_epoch = estimate / max(1, train_size * int(config.epochs))
    epochs = min(int(config.epochs), 2)
    subset = max(500, min(train_size, int(600 / max(per_image_epoch * epochs, 1e-9)) // 500 * 500))
    return f"--subset {subset} --epochs {epochs}"


def confirm_long_run(config: Any, train_size: int, estimate: float, device: torch.device,
                     confirm: Callable[[str], bool] | None) -> None:
    """Put a run estimated above LONG_RUN_S on a CPU to `confirm`; a refusal stops before any epoch."""
    if confirm is None or device.type != "cpu" or estimate < LONG_RUN_S:
        return
    hint = cpu_budget_hint(config, train_size, estimate)
    message = (f"this run takes about {format_seconds(estimate)} on this CPU; a CPU-sized budget is, e.g., {hint} "
               "(or a GPU: --device cuda)")
    if not confirm(message):
        raise AwbenchError(f"not started: {message}")


class FirstBatchesClock:
    """Measures the first batches of a run and says once what they predict for the epoch and the run."""

    def __init__(self, batches_per_epoch: int, epochs_left: int, after_batches: int = 5, after_seconds: float = 10):
        self.batches_per_epoch, self.epochs_left = batches_per_epoch, epochs_left
        self.after_batches, self.after_seconds = after_batches, after_seconds
        self.began = time.perf_counter()
        self.done = False

    def batch_finished(self, index: int) -> None:
        if self.done:
            return
        elapsed = time.perf_counter() - self.began
        if index + 1 >= min(self.after_batches, self.batches_per_epoch) or elapsed >= self.after_seconds:
            self.done = True
            per_batch = elapsed / (index + 1)
            epoch = per_batch * self.batches_per_epoch
            console.print(f"measured: {per_batch:.2f} s/batch over the first {index + 1} batch(es): about "
                          f"{format_seconds(epoch)} per epoch, {format_seconds(epoch * self.epochs_left)} for the "
                          f"{self.epochs_left} epoch(s) left (validation not included)", highlight=False)


def print_evaluation_plan(metadata: dict[str, Any], data: ImageData, n_examples: int, attacks: list[Any],
                          threat: Any, device: torch.device, batch_size: int, asked: list[str],
                          dynamic: bool = False) -> None:
    """What an evaluation will do, before it does it: model, data, examples, attacks (those not `asked`
    were added for a dynamic model), budget, device; for a `dynamic` model also its per-regime bounds."""
    from awbench.attacks import dynamic_model_attacks
    from awbench.evaluation.dynamic_models import REGIMES

    names = [a.label() + ("" if a.name in asked else " (added: an AW-Net)") for a in attacks if a.name != "clean"]
    if dynamic:
        names_run = [a.name for a in attacks]
        if any(name not in names_run for name in dynamic_model_attacks()):
            names.append("(--no-adaptive: no adaptive suite, no AutoAttack added; the summary is flagged incomplete)")
        pinned = [a.name for a in attacks if a.name != "clean" and not a.needs_router]
        names.append(f"then {' + '.join(pinned)} on the network pinned to r = "
                     f"{' and r = '.join(f'{r:g}' for r in REGIMES.values())} (per-regime bounds)")
    norm = getattr(threat.norm, "value", threat.norm)
    capped = f" (asked {n_examples:,}: the split holds {len(data):,})" if n_examples > len(data) else ""
    lines = [
        f"model    {metadata.get('architecture')} ({metadata.get('method') or 'method unknown'}) from "
        f"{metadata.get('checkpoint_path')}",
        f"data     {describe_data(data)}",
        f"examples {min(n_examples, len(data)):,} (seeded, class-balanced){capped}",
        "attacks  " + ", ".join(["clean", *names]),
        f"budget   {norm} eps {format_eps(threat.eps, norm)}",
        f"device   {device}, batches of {batch_size}; each attack's bar shows examples done and time left",
        "Ctrl-C   stops; finished work is kept, and the same command (same --out) resumes it",
    ]
    console.print("[bold]plan[/]\n  " + "\n  ".join(lines), highlight=False, soft_wrap=True)

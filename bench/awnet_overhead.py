"""Forward+backward time of each AW-Net backbone over its static backbone (CPU by default).

Both AW designs are timed against the static model, side by side in one process:
  * AW (`aw-<name>`): the full two-bank AWConv2d (adversarial bank as large as the clean one; the paper's design);
  * AW-lr (`aw-lr-<name>`): adversarial bank = clean bank + rank-(filters/4) correction (LowRankAWConv2d).
Two passes are timed, because both matter for adversarial training:
  * train:  train mode, loss.backward() into every parameter (the optimizer step's pass); the AW models run
            inside `split_batch` as the awnet method does, so MixBN takes its [clean; adversarial] path.
  * attack: eval mode, gradient w.r.t. the input only, through the router (one PGD step; ten per batch).
All timings are interleaved and the median of `--repeats` is kept, so load from other processes hits every
model alike. Goal for the full design's train pass: <= 2.5x the static backbone's.

    python bench/awnet_overhead.py --batch 128 --wrn-batch 8 --repeats 5 --markdown
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from rich.console import Console
from rich.table import Table
from torch import nn

import model_zoo
from model_zoo.aw import routing

BACKBONES = ("small-cnn", "resnet18", "preact-resnet18", "wrn-28-10", "wrn-34-10")
VARIANTS = ("static", "aw", "aw-lr")


def train_pass(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> None:
    model.train()
    awnet = routing(model)
    model.zero_grad(set_to_none=True)
    if awnet is None:
        F.cross_entropy(model(x), y).backward()
    else:
        with awnet.split_batch(len(x) // 2):
            F.cross_entropy(model(x), y).backward()


def attack_pass(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> None:
    model.eval()
    x = x.clone().requires_grad_(True)
    torch.autograd.grad(F.cross_entropy(model(x), y), x)


def time_passes(passes: list[Callable[[], None]], repeats: int, statistic: str = "median") -> list[float]:
    """Run every pass once to warm up, then `repeats` rounds interleaving the passes; median (or min) per pass."""
    for run in passes:
        run()
    times: list[list[float]] = [[] for _ in passes]
    for _ in range(repeats):
        for index, run in enumerate(passes):
            started = time.perf_counter()
            run()
            times[index].append(time.perf_counter() - started)
    reduce = statistics.median if statistic == "median" else min
    return [reduce(t) for t in times]


def build(backbone: str, variant: str) -> nn.Module:
    torch.manual_seed(0)
    return model_zoo.create(backbone if variant == "static" else f"{variant}-{backbone}")


def measure(backbone: str, batch: int, repeats: int, statistic: str) -> dict[str, float]:
    models = {variant: build(backbone, variant) for variant in VARIANTS}
    x, y = torch.rand(batch, 3, 32, 32), torch.randint(0, 10, (batch,))
    passes, keys = [], []
    for kind, run in (("train", train_pass), ("attack", attack_pass)):
        for variant, model in models.items():
            passes.append(lambda run=run, model=model: run(model, x, y))
            keys.append((kind, variant))
    return dict(zip(keys, time_passes(passes, repeats, statistic)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=128, help="batch size (32x32 images)")
    parser.add_argument("--wrn-batch", type=int, default=None, help="smaller batch for the WRNs (default: --batch)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--statistic", choices=("median", "min"), default="median",
                        help="min is the steadier estimate on a machine shared with other jobs")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--backbones", nargs="+", default=list(BACKBONES), choices=BACKBONES)
    parser.add_argument("--markdown", action="store_true", help="also print a markdown table (for BENCHMARKS.md)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    headers = ["backbone", "batch", "pass", "static s", "AW (full) s", "AW / static", "AW-lr s", "AW-lr / static"]
    title = (f"AW-Net overhead on CPU ({args.threads} threads): forward+backward, {args.statistic} of {args.repeats}, "
             f"load average at start {os.getloadavg()[0]:.1f}")
    table = Table(title=title)
    for header in headers:
        table.add_column(header, justify="left" if header in ("backbone", "pass") else "right")
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for backbone in args.backbones:
        batch = args.wrn_batch if (args.wrn_batch and backbone.startswith("wrn")) else args.batch
        seconds = measure(backbone, batch, args.repeats, args.statistic)
        for kind in ("train", "attack"):
            static, full, low_rank = (seconds[(kind, variant)] for variant in VARIANTS)
            cells = [backbone, str(batch), kind, f"{static:.3f}", f"{full:.3f}", f"{full / static:.2f}x",
                     f"{low_rank:.3f}", f"{low_rank / static:.2f}x"]
            table.add_row(*cells)
            lines.append("| " + " | ".join(cells) + " |")
        Console(stderr=True).print(f"measured {backbone}")
    Console().print(table)
    if args.markdown:
        print("\n".join(lines))


if __name__ == "__main__":
    main()

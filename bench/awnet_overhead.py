"""Forward+backward time of each AW-Net backbone over its static backbone (CPU by default).

Two passes are timed, because both matter for adversarial training:
  * train:  train mode, loss.backward() into every parameter (the optimizer step's pass); the AW model runs
            inside `split_batch` as the awnet method does, so MixBN takes its [clean; adversarial] path.
  * attack: eval mode, gradient w.r.t. the input only (one PGD step); ten of these per training batch.
Static and AW timings are interleaved and the median of `--repeats` is kept, so load from other processes
hits both alike. Goal: ratio <= 1.5x, never > 2x.

    python bench/awnet_overhead.py --batch 128 --wrn-batch 16 --repeats 3 --markdown
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from rich.console import Console
from rich.table import Table

import model_zoo
from model_zoo.aw import routing

BACKBONES = ("small-cnn", "resnet18", "preact-resnet18", "wrn-28-10", "wrn-34-10")


def train_pass(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> None:
    model.train()
    awnet = routing(model)
    model.zero_grad(set_to_none=True)
    if awnet is None:
        F.cross_entropy(model(x), y).backward()
    else:
        with awnet.split_batch(len(x) // 2):
            F.cross_entropy(model(x), y).backward()


def attack_pass(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> None:
    model.eval()
    x = x.clone().requires_grad_(True)
    torch.autograd.grad(F.cross_entropy(model(x), y), x)


def median_seconds(passes: list[Callable[[], None]], repeats: int) -> list[float]:
    """Run every pass once to warm up, then `repeats` rounds interleaving the passes; median per pass."""
    for run in passes:
        run()
    times: list[list[float]] = [[] for _ in passes]
    for _ in range(repeats):
        for index, run in enumerate(passes):
            started = time.perf_counter()
            run()
            times[index].append(time.perf_counter() - started)
    return [statistics.median(t) for t in times]


def measure(backbone: str, batch: int, repeats: int) -> dict[str, float]:
    torch.manual_seed(0)
    static = model_zoo.create(backbone)
    dynamic = model_zoo.create(f"aw-{backbone}")
    x, y = torch.rand(batch, 3, 32, 32), torch.randint(0, 10, (batch,))
    static_train, aw_train, static_attack, aw_attack = median_seconds(
        [lambda: train_pass(static, x, y), lambda: train_pass(dynamic, x, y),
         lambda: attack_pass(static, x, y), lambda: attack_pass(dynamic, x, y)], repeats)
    return {"batch": batch, "static_train": static_train, "aw_train": aw_train,
            "static_attack": static_attack, "aw_attack": aw_attack}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=128, help="batch size (32x32 images)")
    parser.add_argument("--wrn-batch", type=int, default=None, help="smaller batch for the WRNs (default: --batch)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--backbones", nargs="+", default=list(BACKBONES), choices=BACKBONES)
    parser.add_argument("--markdown", action="store_true", help="also print a markdown table (for BENCHMARKS.md)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    rows = []
    for backbone in args.backbones:
        batch = args.wrn_batch if (args.wrn_batch and backbone.startswith("wrn")) else args.batch
        rows.append((backbone, measure(backbone, batch, args.repeats)))

    table = Table(title=f"AW-Net overhead, CPU ({args.threads} threads), median of {args.repeats}")
    for column in ("backbone", "batch", "train static s", "train AW s", "train ratio", "attack static s",
                   "attack AW s", "attack ratio"):
        table.add_column(column, justify="left" if column == "backbone" else "right")
    lines = ["| backbone | batch | train static (s) | train AW (s) | train ratio | attack static (s) | "
             "attack AW (s) | attack ratio |", "|---|---|---|---|---|---|---|---|"]
    for backbone, r in rows:
        cells = [backbone, str(r["batch"]), f"{r['static_train']:.3f}", f"{r['aw_train']:.3f}",
                 f"{r['aw_train'] / r['static_train']:.2f}x", f"{r['static_attack']:.3f}", f"{r['aw_attack']:.3f}",
                 f"{r['aw_attack'] / r['static_attack']:.2f}x"]
        table.add_row(*cells)
        lines.append("| " + " | ".join(cells) + " |")
    Console().print(table)
    if args.markdown:
        print("\n".join(lines))


if __name__ == "__main__":
    main()

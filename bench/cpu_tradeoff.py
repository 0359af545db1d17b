"""CPU accuracy-robustness trade-off on real CIFAR-10: small CNN (standard, PGD-AT, TRADES) vs AW-Net (awnet).

Every model gets the same budget (epochs, class-balanced training subset, batch size, PGD steps in training,
cosine schedule, seed) and is trained by `awbench.training.train`. Each final checkpoint is then evaluated on
one fixed, class-balanced test subset: clean accuracy, PGD-20 accuracy (Linf eps 8/255, step 2/255, random
start, fixed seed; white-box, through AW-Net's router), WRA_0.5 = 0.5 * clean + 0.5 * robust, and for AW-Net
the router's detection accuracy (clean images called clean, PGD-20 images called adversarial, averaged).

The default budget takes about 30 minutes on a 2-core CPU (~450 img/s standard, ~56 img/s PGD-10 training
for the small CNN, ~2x that cost for AW-Net):

    python bench/cpu_tradeoff.py

A finished run folder is reused (only evaluated again); an unfinished one is resumed. Output: a table on the
terminal and a CSV (one row per model) that pandas reads.
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.table import Table

from awbench import checkpoint
from awbench.attacks.pgd import pgd
from awbench.data import balanced_subset, load_dataset
from awbench.training import TrainConfig, train
from awbench.training.run_folder import RunFolder
from model_zoo.aw import routing

CONTENDERS = (("small-cnn", "standard"), ("small-cnn", "pgd-at"), ("small-cnn", "trades"), ("aw-small-cnn", "awnet"))
EVAL_EPS, EVAL_STEP, EVAL_STEPS = 8 / 255, 2 / 255, 20
WRA_WEIGHT = 0.5


def run_name(model: str, method: str) -> str:
    return f"tradeoff-{model}-{method}"


def train_or_reuse(config: TrainConfig) -> tuple[Path, float]:
    """Train (or resume, or reuse a finished run); return the final checkpoint and its training seconds."""
    folder = RunFolder(Path(config.out) / config.name)
    if folder.checkpoint_path.is_file():
        _, _, state = checkpoint.load_training_state(folder.checkpoint_path)
        if int(state["epoch"]) < config.epochs:
            train(config, resume=True)
    else:
        train(config)
    seconds = sum(float(row["seconds"]) for row in folder.read_log())  # all epochs, across resumes
    return folder.checkpoint_path, seconds


def evaluate(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, seed: int,
             batch_size: int = 250) -> dict[str, float]:
    """Clean and PGD-20 accuracy; for an AW-Net also the router's detection rates (logit > 0 = adversarial)."""
    model.eval()
    awnet = routing(model)
    totals = {"clean": 0.0, "robust": 0.0, "clean_called_clean": 0.0, "pgd_called_adversarial": 0.0}
    torch.manual_seed(seed)
    for start in range(0, len(labels), batch_size):
        x, y = images[start : start + batch_size], labels[start : start + batch_size]
        with torch.no_grad():
            totals["clean"] += (model(x).argmax(1) == y).sum().item()
            if awnet is not None:
                totals["clean_called_clean"] += (awnet.last_detection_logit <= 0).sum().item()
        x_adv = pgd(model, x, y, eps=EVAL_EPS, step_size=EVAL_STEP, steps=EVAL_STEPS)
        with torch.no_grad():
            totals["robust"] += (model(x_adv).argmax(1) == y).sum().item()
            if awnet is not None:
                totals["pgd_called_adversarial"] += (awnet.last_detection_logit > 0).sum().item()
    n = len(labels)
    row = {"clean_acc": totals["clean"] / n, "pgd20_acc": totals["robust"] / n}
    row[f"wra_{WRA_WEIGHT:g}"] = WRA_WEIGHT * row["clean_acc"] + (1 - WRA_WEIGHT) * row["pgd20_acc"]
    if awnet is not None:
        row["router_clean_as_clean"] = totals["clean_called_clean"] / n
        row["router_pgd_as_adversarial"] = totals["pgd_called_adversarial"] / n
        row["router_detection_acc"] = (row["router_clean_as_clean"] + row["router_pgd_as_adversarial"]) / 2
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--subset", type=int, default=4000, help="class-balanced training images")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--train-steps", type=int, default=10, help="PGD steps of the training attacks")
    parser.add_argument("--test-size", type=int, default=1000, help="class-balanced test images evaluated")
    parser.add_argument("--out", default="runs/cpu_tradeoff", help="folder of the run folders")
    parser.add_argument("--csv", default=None, help="results CSV (default: <out>/results.csv)")
    parser.add_argument("--data-dir", default=os.environ.get("AWBENCH_DATA", "/work/shared/data"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    test = load_dataset("cifar10", "test", data_dir=args.data_dir)
    images, labels = test.select(balanced_subset(test.labels, args.test_size, seed=args.seed + 1)).as_float()
    rows: list[dict[str, Any]] = []
    for model_name, method in CONTENDERS:
        config = TrainConfig(
            dataset="cifar10", model=model_name, method=method, epochs=args.epochs, batch_size=args.batch,
            subset=args.subset, steps=args.train_steps, schedule="cosine", val_size=0, out=args.out,
            name=run_name(model_name, method), seed=args.seed, device="cpu", data_dir=args.data_dir,
        )
        final, seconds = train_or_reuse(config)
        model, _ = checkpoint.load(final)
        started = time.perf_counter()
        row = {"model": model_name, "method": method, "epochs": args.epochs, "subset": args.subset,
               "batch_size": args.batch, "train_pgd_steps": args.train_steps, "train_seconds": round(seconds, 1),
               **evaluate(model, images, labels, seed=args.seed),
               "eval_seconds": round(time.perf_counter() - started, 1), "test_size": len(labels),
               "checkpoint": str(final)}
        rows.append(row)
    write_csv(Path(args.csv or Path(args.out) / "results.csv"), rows)
    print_table(rows, args)


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    Console(stderr=True).print(f"wrote {path}")


def print_table(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    table = Table(title=f"CIFAR-10 on CPU: {args.epochs} epochs x {args.subset} images, batch {args.batch}, "
                        f"PGD-{args.train_steps} training; test {rows[0]['test_size']} images, PGD-20 eps 8/255")
    for column in ("model", "method", "clean", "PGD-20", f"WRA_{WRA_WEIGHT:g}", "router detection", "train s"):
        table.add_column(column, justify="left" if column in ("model", "method") else "right")
    for row in rows:
        detection = row.get("router_detection_acc")
        table.add_row(row["model"], row["method"], f"{row['clean_acc']:.1%}", f"{row['pgd20_acc']:.1%}",
                      f"{row[f'wra_{WRA_WEIGHT:g}']:.1%}", "-" if detection is None else f"{detection:.1%}",
                      f"{row['train_seconds']:.0f}")
    Console().print(table)


if __name__ == "__main__":
    main()

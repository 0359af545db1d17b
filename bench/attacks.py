"""Attack speed on CPU against the reference libraries: same model, same images, same batch, one run each.

Each row is timed once per round (--repeats rounds, default 1; the median is reported).

1. PGD-20 (Linf, default 8/255, step eps/4, no random start) throughput: awbench `pgd()` (last iterate, the same
   algorithm as torchattacks) and the evaluation's early-stopping PGD, vs torchattacks PGD (goal >= 1.0x)
   and foolbox LinfPGD (goal >= 3x). Like for like: with --clean-correct every library attacks only the
   images the model classifies correctly, as `awbench eval` does (a misclassified image leaves early stop at
   step 0, so on a weak model and all images the early-stop ratio measures how many images are already
   wrong, not the attack); use a robust --checkpoint (zoo:cifar10-small-cnn-pgd-at), where most samples run
   all steps.
2. `awbench eval --attack autoattack` (evaluate_checkpoint: loading, clean pass, self-checks, files) vs one
   bare pyautoattack call (loading + run_standard_evaluation), version standard (goal <= 1.05x).
3. The four-attack suite fgsm + pgd + cw + autoattack with --cascade vs without (goal <= 0.6x).

By default a small-cnn is trained normally for a few epochs on real CIFAR-10 (about half a minute), so
the whole benchmark takes a few minutes; --checkpoint evaluates an existing model instead.

    python bench/attacks.py --data-dir ../shared/data --n 256 --batch 256 --threads 1 --markdown
    python bench/attacks.py --data-dir ../shared/data --eps 2/255 --sections pgd   # a model keeping ~80%
    python bench/attacks.py --data-dir ../shared/data --checkpoint zoo:cifar10-small-cnn-pgd-at --clean-correct \
        --n 1000 --sections pgd --markdown                                         # like for like
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from rich.console import Console
from rich.table import Table

import model_zoo
from awbench import checkpoint, run_layout
from awbench.attacks import create_attack
from awbench.attacks.pgd import PGDOptions, pgd
from awbench.data import SPECS, DatasetName, balanced_subset, load_dataset
from awbench.evaluation import evaluate_checkpoint
from awbench.threat import Norm, ThreatModel, parse_eps

STEPS = 20
console = Console(stderr=True)


COMPARISONS = [  # (label, ours, theirs, goal, throughput | time)
    ("PGD-20 throughput: pgd() / torchattacks", "awbench pgd() (last iterate)", "torchattacks PGD", ">= 1.0x",
     "throughput"),
    ("PGD-20 throughput: eval pgd (early stop) / torchattacks", "awbench eval pgd (early stop)", "torchattacks PGD",
     ">= 1.0x", "throughput"),
    ("PGD-20 throughput: pgd() / foolbox LinfPGD", "awbench pgd() (last iterate)", "foolbox LinfPGD", ">= 3x",
     "throughput"),
    ("PGD-20 throughput: eval pgd (early stop) / foolbox LinfPGD", "awbench eval pgd (early stop)",
     "foolbox LinfPGD", ">= 3x", "throughput"),
    ("autoattack time: awbench eval / bare pyautoattack", "awbench eval --attack autoattack", "bare pyautoattack",
     "<= 1.05x", "time"),
    ("4-attack suite time: --cascade / alone", "suite --cascade", "suite (each attack alone)", "<= 0.6x", "time"),
]


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def train_quick_model(data_dir: str | None, folder: Path, images: int, epochs: int, eps: float) -> Path:
    """A non-robust small-cnn: plain SGD on `images` CIFAR-10 training images (seeded)."""
    spec = SPECS[DatasetName.CIFAR10]
    train = load_dataset("cifar10", "train", data_dir=data_dir)
    x, y = train.select(balanced_subset(train.labels, images, seed=1)).as_float()
    torch.manual_seed(0)
    model = model_zoo.create("small-cnn", mean=spec.mean, std=spec.std)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9, weight_decay=5e-4)
    generator = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), 128):
            batch = order[start:start + 128]
            optimizer.zero_grad()
            F.cross_entropy(model(x[batch]), y[batch]).backward()
            optimizer.step()
    metadata = {"architecture": "small-cnn", "num_classes": 10, "in_channels": 3, "mean": list(spec.mean),
                "std": list(spec.std), "dataset": "cifar10", "method": "standard", "norm": "Linf", "eps": eps,
                "epoch": epochs, "run": "bench-small-cnn"}
    return checkpoint.save(folder / run_layout.BEST_CHECKPOINT, model.eval(), metadata)


def accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def pgd_section(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float) -> list[dict[str, Any]]:
    import foolbox
    import torchattacks

    step = eps / 4
    threat = ThreatModel(Norm.LINF, eps)
    early = create_attack("pgd", threat, PGDOptions(steps=STEPS, step_size=step, random_start=False))
    reference = torchattacks.PGD(model, eps=eps, alpha=step, steps=STEPS, random_start=False)
    fmodel = foolbox.PyTorchModel(model, bounds=(0, 1))
    flpgd = foolbox.attacks.LinfPGD(abs_stepsize=step, steps=STEPS, random_start=False)
    runs = {
        "awbench pgd() (last iterate)": lambda: pgd(model, x, y, eps=eps, step_size=step, steps=STEPS,
                                                    random_init=False),
        "awbench eval pgd (early stop)": lambda: early.run(model, x, y).x_adv,
        "torchattacks PGD": lambda: reference(x, y),
        "foolbox LinfPGD": lambda: flpgd(fmodel, x, y, epsilons=eps)[1],
    }
    rows = []
    for name, run in runs.items():
        seconds, x_adv = timed(run)
        rows.append({"name": name, "seconds": seconds, "images_per_s": len(x) / seconds,
                     "accuracy": accuracy(model, x_adv, y)})
    return rows


def autoattack_section(path: Path, data_dir: str | None, n: int, batch: int, out: Path,
                       eps: float) -> list[dict[str, Any]]:
    from pyautoattack import AutoAttack

    def bare() -> float:
        model, _ = checkpoint.load(path, "cpu")
        test = load_dataset("cifar10", "test", data_dir=data_dir)
        x, y = test.select(balanced_subset(test.labels, n, 0)).as_float()
        x_adv, _ = AutoAttack(model, norm="Linf", eps=eps, version="standard", device="cpu",
                              seed=0).run_standard_evaluation(x, y, batch_size=batch)
        return accuracy(model, x_adv, y)

    def ours() -> float:
        summary = evaluate_checkpoint(path, attacks=["autoattack"], eps=eps, n_examples=n, batch_size=batch,
                                      data_dir=data_dir, seed=0, device="cpu", out=out, show_progress=False)
        return summary["robust_accuracy"]["autoattack"]

    rows = []
    for name, run in (("bare pyautoattack", bare), ("awbench eval --attack autoattack", ours)):
        seconds, robust = timed(run)
        rows.append({"name": name, "seconds": seconds, "accuracy": robust})
    return rows


def suite_section(path: Path, data_dir: str | None, n: int, batch: int, out: Path,
                  eps: float) -> list[dict[str, Any]]:
    rows = []
    for cascade in (False, True):
        seconds, summary = timed(lambda cascade=cascade: evaluate_checkpoint(
            path, attacks=["fgsm", "pgd", "cw", "autoattack"], eps=eps, n_examples=n, batch_size=batch,
            data_dir=data_dir, seed=0, device="cpu", out=out / f"cascade-{cascade}", cascade=cascade,
            show_progress=False))
        rows.append({"name": "suite --cascade" if cascade else "suite (each attack alone)", "seconds": seconds,
                     "accuracy": summary["worst_case_accuracy"]})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--checkpoint", type=Path, default=None, help="evaluate this model instead of training one")
    parser.add_argument("--n", type=int, default=256, help="test images")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1: steady on a shared CPU)")
    parser.add_argument("--train-images", type=int, default=4000)
    parser.add_argument("--train-epochs", type=int, default=3)
    parser.add_argument("--eps", default="8/255", help="Linf budget")
    parser.add_argument("--sections", default="pgd,autoattack,suite", help="comma-separated subset to run")
    parser.add_argument("--clean-correct", action="store_true",
                        help="pgd section: attack only the clean-correct images (what awbench eval attacks)")
    parser.add_argument("--repeats", type=int, default=1, help="rounds; the median time of each row is kept")
    parser.add_argument("--markdown", action="store_true", help="also print the table as markdown (stdout)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    eps, sections = parse_eps(args.eps), set(args.sections.split(","))

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        path = args.checkpoint or train_quick_model(args.data_dir, scratch / "run", args.train_images,
                                                    args.train_epochs, eps)
        model, _ = checkpoint.load(path, "cpu")
        test = load_dataset("cifar10", "test", data_dir=args.data_dir)  # also warms the page cache
        x, y = test.select(balanced_subset(test.labels, args.n, 0)).as_float()
        console.print(f"model {path}: clean accuracy {accuracy(model, x, y):.2%} on {args.n} test images, "
                      f"{torch.get_num_threads()} thread(s)")
        pgd_x, pgd_y = x, y
        if args.clean_correct:
            with torch.no_grad():
                correct = model(x).argmax(1) == y
            pgd_x, pgd_y = x[correct], y[correct]
        image_set = (f"{len(pgd_y)} clean-correct of {args.n} images" if args.clean_correct
                     else f"all {args.n} images, misclassified ones included")
        rounds: list[list[dict[str, Any]]] = []
        for round_index in range(args.repeats):  # sections interleaved, so load from other jobs hits all alike
            rows = pgd_section(model, pgd_x, pgd_y, eps) if "pgd" in sections else []
            if "autoattack" in sections:
                rows += autoattack_section(path, args.data_dir, args.n, args.batch, scratch / f"aa{round_index}", eps)
            if "suite" in sections:
                rows += suite_section(path, args.data_dir, args.n, args.batch, scratch / f"suite{round_index}", eps)
            rounds.append(rows)
    rows = [{**row, "seconds": statistics.median(r[i]["seconds"] for r in rounds)} for i, row in enumerate(rounds[-1])]

    comparisons = [(label, ours, theirs, goal, kind) for label, ours, theirs, goal, kind in COMPARISONS
                   if ours in {row["name"] for row in rows}]
    by_name = {row["name"]: row for row in rows}
    table = Table(title=f"awbench attacks vs references (CPU, {torch.get_num_threads()} thread(s), Linf eps "
                        f"{args.eps}, {args.n} CIFAR-10 test images, PGD rows on {image_set}, batch {args.batch}, "
                        f"median of {args.repeats} run(s))")
    for column in ("comparison", "ours s", "theirs s", "ratio", "goal", "ours acc", "theirs acc"):
        table.add_column(column, justify="left" if column == "comparison" else "right")
    lines = ["| comparison | ours (s) | theirs (s) | ratio | goal | ours acc | theirs acc |",
             "| --- | ---: | ---: | ---: | --- | ---: | ---: |"]
    for label, ours_name, theirs_name, goal, kind in comparisons:
        ours, theirs = by_name[ours_name], by_name[theirs_name]
        ratio = theirs["seconds"] / ours["seconds"] if kind == "throughput" else ours["seconds"] / theirs["seconds"]
        label = f"{label} ({image_set})" if label.startswith("PGD") else label
        cells = [label, f"{ours['seconds']:.2f}", f"{theirs['seconds']:.2f}", f"{ratio:.2f}x", goal,
                 f"{ours['accuracy']:.2%}", f"{theirs['accuracy']:.2%}"]
        table.add_row(*cells)
        lines.append("| " + " | ".join(cells) + " |")
    console.print(table)
    if args.markdown:
        print("\n".join(lines))


if __name__ == "__main__":
    main()

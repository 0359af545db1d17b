"""CPU accuracy-robustness trade-off on real CIFAR-10: small CNN (standard, PGD-AT, TRADES) vs AW-Net (awnet).

Every model gets the same budget (epochs, class-balanced training subset, batch size, PGD steps in training,
cosine schedule, seed) and is trained by `awbench.training.train`, evaluated by `awbench.evaluation` (PGD-20,
Linf eps 8/255, step 2/255, on the same class-balanced test images for every model; every adversarial example
re-judged and budget-checked, and the AW-Net also meets AutoAttack and the adaptive attack, the library's
safe default for a dynamic model), and compared by `awbench.compare` (comparison.csv/.md with WRA_0.5, the
Pareto front, pareto.png).

    python bench/cpu_tradeoff.py --data-dir ~/data          # or AWBENCH_DATA=~/data python bench/cpu_tradeoff.py

The default budget takes about 30 minutes on a 2-core CPU. A finished run folder is reused (only evaluated
again if its evaluation is missing); an unfinished one is resumed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from awbench.compare import compare_runs, print_comparison
from awbench.evaluation import evaluate_checkpoint
from awbench.evaluation.report import SUMMARY_FILE
from awbench.training import TrainConfig, train
from awbench.training.run_folder import RunFolder

CONTENDERS = (("small-cnn", "standard"), ("small-cnn", "pgd-at"), ("small-cnn", "trades"), ("aw-small-cnn", "awnet"))
EVAL_EPS, EVAL_STEP, EVAL_STEPS = 8 / 255, 2 / 255, 20


def train_or_reuse(config: TrainConfig) -> Path:
    """Train (or resume, or reuse a finished run); return the run folder."""
    folder = RunFolder(Path(config.out) / str(config.name))
    done = folder.epochs_done()
    if done < config.epochs:
        train(config, resume=done > 0)
    return folder.path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--subset", type=int, default=4000, help="class-balanced training images")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--train-steps", type=int, default=10, help="PGD steps of the training attacks")
    parser.add_argument("--test-size", type=int, default=1000, help="class-balanced test images evaluated")
    parser.add_argument("--out", default="runs/cpu_tradeoff", help="folder of the run folders and the comparison")
    parser.add_argument("--data-dir", default=None, help="folder with CIFAR-10 (default: awbench's search: "
                        "$AWBENCH_DATA, ~/.cache/awbench/data)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    for model_name, method in CONTENDERS:
        config = TrainConfig(
            dataset="cifar10", model=model_name, method=method, epochs=args.epochs, batch_size=args.batch,
            subset=args.subset, steps=args.train_steps, schedule="cosine", val_size=0, out=args.out,
            name=f"tradeoff-{model_name}-{method}", seed=args.seed, device="cpu", data_dir=args.data_dir,
        )
        run = train_or_reuse(config)
        if not (run / "eval" / SUMMARY_FILE).is_file():
            evaluate_checkpoint(RunFolder(run).checkpoint_path, attacks=["pgd"], eps=EVAL_EPS, norm="Linf",
                                steps=EVAL_STEPS, step_size=EVAL_STEP, n_examples=args.test_size,
                                data_dir=args.data_dir, seed=args.seed, device="cpu", out=run / "eval")
    print_comparison(compare_runs(args.out, metric="worst", weight=0.5))


if __name__ == "__main__":
    main()

"""What an eps sweep costs against the single largest-eps evaluation, and what any sweep must cost (issue 14).

For each model, in one process, CPU seconds (`time.process_time`, so other jobs on the machine count less than
in wall time) of:
  * the sweep (`evaluate_eps_sweep`, re-use of broken examples on);
  * a separate `evaluate_checkpoint` at each budget of the sweep (the largest one is "single").
  * a clean-only evaluation ("fixed": loading, data, clean passes and checks, the work that is not the attack).
An untimed evaluation runs first, so imports and first-call allocations are paid before any timing.
`(smallest - fixed) / single` is a lower bound for any sweep that reports, at the smallest budget, what a
separate evaluation there reports: it must attack every example there as that evaluation does. `floor / single`
is an estimate, not a bound: `floor = sweep - (budgets - 1) * fixed`, the sweep as it is (re-using examples
broken at a smaller budget, attacking the others in full, plus a few re-checks) with the fixed work done
once. Getting far below it needs a different computation at the small budgets (fewer steps, warm starts from
another budget's iterate), which changes the per-budget numbers.

    python bench/eps_sweep_cost.py --n-examples 200                       # the three static zoo models, PGD
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from awbench.evaluation.api import evaluate_checkpoint  # noqa: E402
from awbench.evaluation.eps_sweep import evaluate_eps_sweep, parse_eps_list  # noqa: E402

MODELS = ("cifar10-small-cnn-standard", "cifar10-small-cnn-pgd-at", "cifar10-small-cnn-trades")


def cpu_seconds(run: Callable[..., object], *args: object, **kwargs: object) -> float:
    started = time.process_time()
    run(*args, **kwargs)
    return time.process_time() - started


def measure(model: str, eps: str, options: dict) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch)
        name, budgets = f"zoo:{model}", parse_eps_list(eps)
        evaluate_checkpoint(name, eps=budgets[-1], out=out / "warm-up", **options)  # untimed
        row = {"sweep": cpu_seconds(evaluate_eps_sweep, name, eps=eps, out=out / "sweep", **options)}
        for index, budget in enumerate(budgets):
            row[budget] = cpu_seconds(evaluate_checkpoint, name, eps=budget, out=out / f"e{index}", **options)
        clean_only = {**options, "attacks": ["clean"]}
        row["fixed"] = cpu_seconds(evaluate_checkpoint, name, eps=budgets[0], out=out / "fixed", **clean_only)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated zoo names")
    parser.add_argument("--eps", default="1/255,2/255,4/255,8/255,16/255")
    parser.add_argument("--attack", default="pgd")
    parser.add_argument("--n-examples", type=int, default=200)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    budgets = parse_eps_list(args.eps)
    options = {"attacks": [args.attack], "n_examples": args.n_examples, "device": "cpu", "show_progress": False,
               "data_dir": args.data_dir}
    names = [f"{round(b * 255, 3):g}/255" for b in budgets]
    print(f"CPU seconds, {args.attack}, {args.n_examples} examples, one process per model row")
    ratios = ["sweep / single", "(smallest - fixed) / single", "floor / single"]
    print("| model | sweep | " + " | ".join([*names, "fixed", *ratios]) + " |")
    print("|---|---:|" + "---:|" * len(names) + "---:|---:|---:|---:|")
    for model in args.models.split(","):
        row = measure(model, args.eps, options)
        single, smallest = row[budgets[-1]], row[budgets[0]]
        cells = [f"{row['sweep']:.1f}", *(f"{row[b]:.1f}" for b in budgets), f"{row['fixed']:.1f}",
                 f"{row['sweep'] / single:.2f}x", f"{(smallest - row['fixed']) / single:.2f}x",
                 f"{(row['sweep'] - (len(budgets) - 1) * row['fixed']) / single:.2f}x"]
        print(f"| {model} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()

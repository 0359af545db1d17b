"""The deciding experiment of issue 12: does a dynamic AW-Net beat the static trade-off at this scale?

Seven small-cnn models, same CIFAR-10 class-balanced training subset, same epochs, same seed:
standard, pgd-at, trades, and the full two-bank AW-Net (`aw-small-cnn`, method awnet) x {router evasion
on/off} x {router shortcut on/off}. Everything goes through the CLI, one process per task, --jobs at a time:

  1. train     `awbench train` each model
  2. evaluate  `awbench eval` each (pgd + autoattack; an AW-Net adds the adaptive suite and per-regime bounds
               by default), `awbench sweep-signal` each AW-Net (the fixed-r curve, pgd on each pinned network)
               and a pgd-only `awbench eval` of each static model (eval-pgd/: compare groups rows by attack
               set, so the baselines and the r-curves share a group and a front)
  3. compare   `awbench compare` over all of it: its table and pareto plot

Writes under --out: runs/ (run folders, each with eval/ and sweep/), logs/ (each task's output),
results.csv (one row per model, one per r-sweep point, failures included), compare's comparison.* and
pareto.png, and prints each phase's wall time. A failing task is recorded (status column, its log) and
the experiment goes on; tasks that need its output are skipped.

    python bench/awnet_experiment.py --tiny --jobs 2 --out /tmp/awx          # CPU rehearsal
    python bench/awnet_experiment.py --subset 4000 --epochs 10 --n-examples 500 --jobs 7 --device cuda \
        --aw-eval suite --task-timeout 200                                  # 192 s measured on one H200
    python bench/awnet_experiment.py --subset 4000 --epochs 5 --n-examples 200 --jobs 2 --device cpu
                                                                        # 5,610 s on the 2-core CPU

Measured on one H200 (16 cores, 7 jobs; docs/results/awnet-experiment.md): training 105 s (the
router-evasion AW-Nets are the long pole, ~2x the PGD-trained ones; 1.1x on the CPU run), evaluation 80 s
with --aw-eval suite.
The full AW-Net evaluation (--aw-eval full: AutoAttack on the network and on both pinned regimes) is about
three AutoAttack runs per AW-Net, ~400 s under that contention. The training data must hold --subset plus
--val-size images.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from awbench.run_layout import SUMMARY  # noqa: E402  (file names of a run folder: torch-free)

SWEEP_VALUES = "0,0.25,0.5,0.75,1"


@dataclass
class Model:
    name: str
    architecture: str
    method: str
    router_evasion: float | None = None  # AW-Nets only
    shortcut: bool | None = None  # AW-Nets only
    status: str = "ok"
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def dynamic(self) -> bool:
        return self.method == "awnet"


def models(evasion: float) -> list[Model]:
    static = [Model(method, "small-cnn", method) for method in ("standard", "pgd-at", "trades")]
    dynamic = [Model(f"aw-{'evasion' if ev else 'pgd'}-{'shortcut' if sc else 'noshortcut'}", "aw-small-cnn", "awnet",
                     evasion if ev else 0.0, sc) for ev in (True, False) for sc in (True, False)]
    return static + dynamic


def run_task(command: list[str], log: Path, env: dict[str, str], timeout: float | None) -> tuple[int, float]:
    """Run one CLI command with its output in `log`; (exit code, seconds). Never raises."""
    start = time.perf_counter()
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as handle:
        handle.write(" ".join(command) + "\n\n")
        handle.flush()
        try:
            code = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                                  timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            handle.write(f"\nkilled after {timeout} s (--task-timeout)\n")
            code = 124
        except OSError as error:
            handle.write(f"\n{error}\n")
            code = 127
    return code, time.perf_counter() - start


def awbench(*args: Any) -> list[str]:
    return [sys.executable, "-m", "awbench", *map(str, args)]


def train_command(model: Model, args: argparse.Namespace, runs: Path) -> list[str]:
    command = awbench("train", "cifar10", "--model", model.architecture, "--method", model.method,
                      "--subset", args.subset, "--epochs", args.epochs, "--steps", args.train_steps,
                      "--val-size", args.val_size, "--seed", args.seed, "--device", args.device,
                      "--out", runs, "--name", model.name, *common(args))
    if model.dynamic:
        command += ["--router-evasion", model.router_evasion,
                    "--router-shortcut" if model.shortcut else "--no-router-shortcut"]
    return [str(part) for part in command]


def common(args: argparse.Namespace) -> list[str]:
    return ["--data-dir", str(args.data_dir)] if args.data_dir else []


def eval_command(model: Model, args: argparse.Namespace, runs: Path) -> list[str]:
    """pgd + autoattack (an AW-Net adds the adaptive suite and per-regime bounds); --no-autoattack (every model)
    or --aw-eval suite (AW-Nets): pgd, and for an AW-Net the adaptive suite with --no-adaptive (no AutoAttack,
    per-regime bounds by PGD; its summary is flagged incomplete; the suite holds APGD-CE and APGD-T)."""
    if args.no_autoattack or (model.dynamic and args.aw_eval == "suite"):
        attacks = ["-a", "pgd", *(["-a", "adaptive", "--no-adaptive"] if model.dynamic else [])]
    else:
        attacks = ["-a", "pgd", "-a", "autoattack"]
    return awbench("eval", runs / model.name, *attacks, "--n-examples", args.n_examples, "--steps", args.eval_steps,
                   "--seed", args.seed, "--device", args.device, "--out", runs / model.name / "eval", *common(args))


def static_pgd_command(model: Model, args: argparse.Namespace, runs: Path) -> list[str]:
    """A static model's PGD-only evaluation (eval-pgd/): compare groups rows by attack set, so this puts the
    baselines beside the AW-Nets' r-sweep (pinned networks attacked by pgd) in one group and one front."""
    return awbench("eval", runs / model.name, "-a", "pgd", "--n-examples", args.n_examples, "--steps", args.eval_steps,
                   "--seed", args.seed, "--device", args.device, "--out", runs / model.name / "eval-pgd", *common(args))


def sweep_command(model: Model, args: argparse.Namespace, runs: Path) -> list[str]:
    return awbench("sweep-signal", runs / model.name, "--values", args.sweep_values, "-a", "pgd",
                   "--n-examples", args.n_examples, "--steps", args.eval_steps, "--seed", args.seed,
                   "--device", args.device, "--out", runs / model.name / "sweep", *common(args))


def run_phase(name: str, tasks: list[tuple[Model, str, list[str]]], args: argparse.Namespace,
              env: dict[str, str]) -> float:
    """Run (model, task, command) tasks, --jobs at a time; record each failure on its model. Returns seconds."""
    start = time.perf_counter()
    timeout = args.task_timeout or None

    def one(task: tuple[Model, str, list[str]]) -> None:
        model, kind, command = task
        code, seconds = run_task(command, args.out / "logs" / f"{model.name}-{kind}.log", env, timeout)
        model.seconds[kind] = round(seconds, 1)
        # eval / sweep-signal exit 1 when a self-check fails: the numbers exist, the status says so
        if code != 0:
            failure = f"{kind} exit {code}"
            model.status = failure if model.status == "ok" else f"{model.status}; {failure}"
        print(f"  {kind:8s} {model.name:22s} {'ok' if code == 0 else f'exit {code}':8s} {seconds:7.1f} s",
              flush=True)

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        list(pool.map(one, tasks))
    seconds = time.perf_counter() - start
    print(f"phase {name}: {seconds:.1f} s wall ({len(tasks)} tasks, --jobs {args.jobs})", flush=True)
    return seconds


def _read(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def result_rows(model: Model, runs: Path) -> list[dict[str, Any]]:
    """The model's row (numbers from its eval summary.json) and one row per r-sweep point."""
    base = {"model": model.name, "architecture": model.architecture, "method": model.method,
            "router_evasion": model.router_evasion, "router_shortcut": model.shortcut, "status": model.status,
            **{f"{kind}_seconds": model.seconds.get(kind) for kind in ("train", "eval", "sweep")}}
    rows = [{**base, "kind": "model", **numbers(_read(runs / model.name / "eval" / SUMMARY))}]
    if model.dynamic:
        for summary_path in sorted((runs / model.name / "sweep").glob(f"r*/{SUMMARY}")):
            summary = _read(summary_path)
            rows.append({**base, "kind": "r-sweep", "pin_signal": (summary or {}).get("pin_signal"),
                         **numbers(summary)})
    return rows


def numbers(summary: dict[str, Any] | None) -> dict[str, Any]:
    if summary is None:
        return {}
    robust = summary.get("robust_accuracy") or {}
    pinned = (summary.get("regime_bounds") or {}).get("pinned") or {}
    return {"n_examples": summary.get("n_examples"), "clean": summary.get("clean_accuracy"),
            "robust_worst_case": summary.get("worst_case_accuracy"), "pgd": robust.get("pgd"),
            "autoattack": robust.get("autoattack"), "adaptive": robust.get("adaptive"),
            "bound_pinned_clean": (pinned.get("clean") or {}).get("worst_case_accuracy"),
            "bound_pinned_adversarial": (pinned.get("adversarial") or {}).get("worst_case_accuracy"),
            "checks_not_passed": ",".join(f"{name}={check.get('status')}"
                                          for name, check in (summary.get("checks") or {}).items()
                                          if isinstance(check, dict) and check.get("status") != "pass")}


COLUMNS = ["kind", "model", "architecture", "method", "router_evasion", "router_shortcut", "pin_signal", "status",
           "n_examples", "clean", "robust_worst_case", "pgd", "autoattack", "adaptive", "bound_pinned_clean",
           "bound_pinned_adversarial", "checks_not_passed", "train_seconds", "eval_seconds", "sweep_seconds"]


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subset", type=int, default=4000, help="class-balanced CIFAR-10 training images")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--n-examples", type=int, default=1000, help="test examples of every evaluation")
    parser.add_argument("--train-steps", type=int, default=10, help="PGD steps of the inner attack in training")
    parser.add_argument("--eval-steps", type=int, default=20, help="eval / sweep-signal --steps")
    parser.add_argument("--val-size", type=int, default=500, help="held-out training images for best.pt")
    parser.add_argument("--evasion", type=float, default=0.5, help="--router-evasion of the evasion-trained AW-Nets")
    parser.add_argument("--sweep-values", default=SWEEP_VALUES, help="r values of sweep-signal")
    parser.add_argument("--data-dir", type=Path, default=None, help="data folder [env: AWBENCH_DATA]")
    parser.add_argument("--out", type=Path, default=Path("runs/awnet-experiment"))
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda")
    parser.add_argument("--jobs", type=int, default=1, help="tasks run in parallel, one process each")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--task-timeout", type=float, default=0, help="kill a task after this many seconds (0: never)")
    parser.add_argument("--only", default=None, help="comma-separated model names (default: all seven)")
    parser.add_argument("--no-autoattack", action="store_true",
                        help="skip AutoAttack (its Square attack takes minutes per model on a CPU; AW-Nets still get "
                             "the adaptive suite, their summaries flagged incomplete)")
    parser.add_argument("--aw-eval", choices=("full", "suite"), default="full",
                        help="full: AW-Nets get the default evaluation (AutoAttack + adaptive suite, bounds by pgd and "
                             "AutoAttack: three AutoAttack runs each); suite: pgd + the adaptive suite only")
    parser.add_argument("--tiny", action="store_true",
                        help="CPU rehearsal: subset 200, 1 epoch, 20 examples, 2 training / 5 eval steps, r in 0,0.5,1,"
                             " --no-autoattack")
    args = parser.parse_args(argv)
    if args.tiny:
        args.subset, args.epochs, args.n_examples, args.train_steps, args.eval_steps = 200, 1, 20, 2, 5
        args.val_size, args.sweep_values, args.no_autoattack = 50, "0,0.5,1", True
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    args.out = args.out.resolve()
    runs = args.out / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    chosen = models(args.evasion)
    if args.only:
        wanted = set(args.only.split(","))
        chosen = [model for model in chosen if model.name in wanted]
    threads = str(max(1, (os.cpu_count() or 1) // max(1, args.jobs)))
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))  # this checkout's awbench first
    env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "PYTHONPATH": path}
    # longest first, so --jobs packs well: the router-evasion AW-Nets, then the other AW-Nets, then static ones
    by_cost = sorted(chosen, key=lambda m: (not m.dynamic, not m.router_evasion))
    phases = {"train": run_phase("train", [(m, "train", train_command(m, args, runs)) for m in by_cost], args, env)}
    trained = [m for m in chosen if m.status == "ok"]
    tasks = [(m, "eval", eval_command(m, args, runs)) for m in trained]
    tasks += [(m, "sweep", sweep_command(m, args, runs)) for m in trained if m.dynamic]
    tasks += [(m, "eval-pgd", static_pgd_command(m, args, runs)) for m in trained if not m.dynamic]
    tasks.sort(key=lambda task: (task[1] != "eval", not task[0].dynamic))  # longest first: AW-Net evals
    phases["evaluate"] = run_phase("evaluate", tasks, args, env)
    start = time.perf_counter()
    code, _ = run_task(awbench("compare", runs, "--out", args.out, "--format", "csv,md"),
                       args.out / "logs" / "compare.log", env, args.task_timeout or None)
    phases["compare"] = time.perf_counter() - start
    print(f"phase compare: {phases['compare']:.1f} s wall ({'ok' if code == 0 else f'exit {code}, see logs'})")
    with (args.out / "results.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for model in chosen:
            writer.writerows(result_rows(model, runs))
    (args.out / "phases.json").write_text(json.dumps({k: round(v, 1) for k, v in phases.items()}, indent=1))
    print(f"total {sum(phases.values()):.1f} s; results: {args.out / 'results.csv'}; plot: {args.out / 'pareto.png'}")
    for model in chosen:
        if model.status != "ok":
            print(f"  {model.name}: {model.status} (logs in {args.out / 'logs'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

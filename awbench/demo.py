"""`awbench demo`: one command from a fresh machine to a trade-off table and a Pareto plot.

On a seeded, class-balanced subset of real CIFAR-10 images it trains the small CPU model with `standard`, `pgd-at`
and `trades`, and its AW-Net version with `awnet`; evaluates each with clean accuracy, PGD and AutoAttack
(the AW-Net also meets the adaptive attack); then compares them. The budgets of the two modes are one
`DemoPlan` each. The images come from the CIFAR-10 sample shipped with awbench (2,000 training and 500 test
images), so the demo needs no network and no data folder; `--data-dir FOLDER` cuts
the subsets from a full CIFAR-10 there instead. The table's data line says which.

Layout of `--out` (every file written atomically, so a killed demo loses at most the step it was in):
    demo.json                  the plan (another plan into the same folder is refused once a step has finished;
                               a demo that failed before finishing any step leaves nothing that blocks another)
    data/cifar10_{train,test}.npz   the subset, cut once from the full data set
    runs/<name>/               training run folders (config.json, train_log.csv, checkpoint.pt, best.pt)
    runs/<name>/eval/          the evaluation (summary.json, per_sample.csv, eval_state.json)
    comparison.{csv,md,tex}, pareto.{png,svg}
Rerunning the same command skips finished steps (a checkpoint.pt with every epoch done, a summary.json) and
resumes unfinished ones (training from checkpoint.pt, evaluation from eval_state.json).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.markup import escape

from awbench import run_layout
from awbench.compare import ComparisonResult, compare_runs, print_comparison
from awbench.console import console
from awbench.data.embedded import EMBEDDED
from awbench.data.subsets import cut_subsets, describe_subsets, subset_files
from awbench.errors import AwbenchError, CheckpointError, DataNotFoundError
from awbench.evaluation import evaluate_checkpoint
from awbench.files import atomic_write
from awbench.training import TrainConfig, train
from awbench.training.run_folder import RunFolder

DATASET = "cifar10"
EPS = 8 / 255
# (model, training method): three static baselines and the AW-Net, trained in this order.
RUNS = (("small-cnn", "standard"), ("small-cnn", "pgd-at"), ("small-cnn", "trades"), ("aw-small-cnn", "awnet"))
ATTACKS = ["pgd", "autoattack"]  # clean accuracy is always measured; an AW-Net also gets "adaptive"


@dataclass(frozen=True)
class DemoPlan:
    """Every budget of a demo: data, training and evaluation. `DemoPlan.for_mode(quick)` gives the two."""

    mode: str
    train_images: int  # class-balanced training subset (the held-out validation images come on top)
    # Held-out training images that pick best.pt by PGD accuracy; 0 (both modes): best.pt is the last epoch,
    # since a few hundred held-out images pick noise in runs this short (it chose a 1-epoch standard model).
    val_images: int
    epochs: int
    batch_size: int
    lr: float
    schedule: str
    train_steps: int  # PGD steps of the inner attack of pgd-at, trades and awnet
    eval_images: int  # class-balanced test subset
    eval_steps: int  # PGD (and adaptive attack) steps at evaluation
    autoattack: dict[str, Any] = field(default_factory=dict)  # AttackOptions for autoattack; {} = standard

    @classmethod
    def for_mode(cls, quick: bool = False) -> DemoPlan:
        if quick:  # a smoke run of the whole pipeline: the numbers mean nothing
            return cls(mode="quick", train_images=128, val_images=0, epochs=1, batch_size=128, lr=0.05,
                       schedule="constant", train_steps=2, eval_images=40, eval_steps=3,
                       autoattack={"version": "custom", "aa_attacks": ["apgd-ce"], "aa_iterations": 5})
        # Standard AutoAttack (APGD-T and FAB-T over 9 targets, Square with 5000 queries) takes minutes per
        # model here on 2 CPU cores, so the default mode runs its two APGD attacks with 10 iterations each.
        return cls(mode="default", train_images=1000, val_images=0, epochs=2, batch_size=64, lr=0.05,
                   schedule="cosine", train_steps=3, eval_images=100, eval_steps=10,
                   autoattack={"version": "custom", "aa_attacks": ["apgd-ce", "apgd-t"], "aa_iterations": 10})

    @property
    def train_step_size(self) -> float:
        # The usual 2/255 for 10 steps; with fewer steps, 2.5*eps/steps so the walk can still reach the boundary.
        return max(EPS / 4, 2.5 * EPS / self.train_steps)

    def describe_autoattack(self) -> str:
        """What AutoAttack ran, in words a table reader needs: standard, or exactly how it was reduced."""
        options = self.autoattack
        if not options or (options.get("version", "standard") == "standard" and "aa_iterations" not in options):
            return "standard AutoAttack (APGD-CE, APGD-T, FAB-T, Square)"
        attacks = ", ".join(options.get("aa_attacks") or [options.get("version", "standard")])
        iterations = options.get("aa_iterations")
        return (f"REDUCED AutoAttack: {attacks} only" + (f", {iterations} iterations each" if iterations else "")
                + " (weaker than standard AutoAttack, so its robust accuracy is an overestimate)")

    def describe(self) -> str:
        held_out = f" (+{self.val_images} held out to pick best.pt)" if self.val_images else ""
        return (f"{self.mode} demo: CIFAR-10, {self.train_images} training images{held_out}, "
                f"{self.epochs} epoch(s), PGD-{self.train_steps} adversarial training; evaluation on "
                f"{self.eval_images} test images, eps 8/255 Linf: PGD-{self.eval_steps} and "
                f"{self.describe_autoattack()}")


@dataclass
class DemoResult:
    """What a demo produced: the comparison, where the table and plot are, and how long each step took."""

    plan: DemoPlan
    out: Path
    comparison: ComparisonResult
    table: Path
    plot: Path | None
    seconds: dict[str, float]
    skipped: list[str]
    data: str = ""  # which images: the shipped sample or a full CIFAR-10 folder


def run_demo(
    *,
    data_dir: str | Path | None = None,
    out: str | Path = "awbench-demo",
    quick: bool = False,
    device: str = "auto",
    seed: int = 0,
    show_progress: bool = True,
) -> DemoResult:
    """Train the four models, evaluate them and compare them; skip or resume whatever `out` already holds."""
    try:
        return _run_demo(data_dir=data_dir, out=Path(out), quick=quick, device=device, seed=seed,
                         show_progress=show_progress)
    except KeyboardInterrupt:
        # The step's own advice (train --resume, eval --out) was printed above; inside the demo it is simpler:
        console.print(f"[yellow]demo interrupted[/]: finished steps are kept in {escape(str(out))}; rerun the same "
                      "awbench demo command to continue from there", soft_wrap=True)
        raise


class _Steps:
    """Numbered step headers and each step's wall time, and which steps were skipped as already done."""

    def __init__(self, total: int):
        self.total, self.done = total, 0
        self.seconds: dict[str, float] = {}
        self.skipped: list[str] = []

    @contextmanager
    def step(self, name: str, title: str | None = None) -> Iterator[None]:
        self.done += 1
        console.rule(f"[bold]{self.done}/{self.total}[/] {escape(title or name)}")
        started = time.perf_counter()
        yield
        self.seconds[name] = time.perf_counter() - started

    def skip(self, name: str, reason: str) -> None:
        console.print(f"[dim]skip: {escape(reason)}")
        self.skipped.append(name)


def _run_demo(*, data_dir: str | Path | None, out: Path, quick: bool, device: str, seed: int,
              show_progress: bool) -> DemoResult:
    plan = DemoPlan.for_mode(quick)
    began = time.perf_counter()
    _claim_folder(out, plan, seed)
    console.print(f"[bold]awbench demo[/]: {escape(plan.describe())}", soft_wrap=True)
    if plan.mode == "quick":
        console.print("[yellow]quick mode[/]: a smoke run of the pipeline on a tiny budget; its numbers say "
                      "nothing about the trade-off (run without --quick for that)")
    steps = _Steps(total=2 + 2 * len(RUNS))
    with steps.step("data"):
        demo_data = _prepare_data(plan, out / "data", data_dir, seed, steps)
    run_folders = []
    for model, method in RUNS:
        name = f"{model}-{method}"
        with steps.step(f"train {name}"):
            config = _train_config(plan, model, method, demo_data, out / "runs", name, seed, device)
            run_folders.append(_train(config, show_progress, steps))
    for run_folder in run_folders:
        with steps.step(f"evaluate {run_folder.name}"):
            _evaluate(plan, run_folder, demo_data, seed, device, show_progress, steps)
    with steps.step("compare"):
        comparison = compare_runs(out / "runs", metric="worst", weight=0.5, out=out)
        print_comparison(comparison)
    seconds = {**steps.seconds, "total": time.perf_counter() - began}

    plot = out / "pareto.png"
    result = DemoResult(plan, out, comparison, out / "comparison.md", plot if plot.is_file() else None, seconds,
                        steps.skipped, describe_subsets(demo_data, DATASET))
    _write_manifest(out, plan, seed, result)
    _print_summary(result)
    return result


def _claim_folder(out: Path, plan: DemoPlan, seed: int) -> None:
    """Record the plan in out/demo.json; refuse a folder that holds a demo with another plan or seed."""
    manifest = out / "demo.json"
    wanted = {"plan": asdict(plan), "seed": seed}
    if manifest.is_file():
        try:
            found = json.loads(manifest.read_text())
        except (OSError, json.JSONDecodeError):
            found = {}
        if {key: found.get(key) for key in wanted} == wanted:
            return
        if _finished_steps(out):
            other = (found.get("plan") or {}).get("mode", "unknown")
            raise AwbenchError(f"{out} holds a demo with other settings ({other} mode, seed {found.get('seed')}); "
                               "rerun that command to continue it, or give another --out")
        _clear_unfinished_demo(out)  # it failed before finishing a step: nothing in it is worth keeping
        _write_json(manifest, wanted)
        return
    if out.exists() and not out.is_dir():
        raise AwbenchError(f"--out {out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()):
        raise AwbenchError(f"--out {out} is not empty and holds no demo (no demo.json); give another --out")
    _write_json(manifest, wanted)


def _finished_steps(out: Path) -> list[Path]:
    """The work a demo folder holds that took time: checkpoints (a finished epoch) and evaluations."""
    runs = out / "runs"
    checkpoints = [RunFolder(path).checkpoint_path for path in runs.glob("*/")]
    return [*(path for path in checkpoints if path.is_file()), *runs.glob(f"*/eval/{run_layout.SUMMARY}"),
            *runs.glob(f"*/eval/{run_layout.EVALUATION_STATE}")]


def _clear_unfinished_demo(out: Path) -> None:
    """Remove what a demo that finished no step left: its plan, its data subset, run folders with no epoch."""
    (out / "demo.json").unlink(missing_ok=True)
    for path in subset_files(out / "data", DATASET).values():
        path.unlink(missing_ok=True)
    if (out / "runs").is_dir():
        shutil.rmtree(out / "runs")


def _write_json(path: Path, values: dict[str, Any]) -> None:
    text = json.dumps(values, indent=2, default=str)
    atomic_write(path, lambda handle: handle.write(text.encode()))


def _write_manifest(out: Path, plan: DemoPlan, seed: int, result: DemoResult) -> None:
    """Rewrite out/demo.json with what was done; a skipped step keeps the time of the run that did it."""
    try:
        earlier = json.loads((out / "demo.json").read_text()).get("step_seconds") or {}
    except (OSError, json.JSONDecodeError, AttributeError):
        earlier = {}
    steps = {name: value for name, value in result.seconds.items() if name != "total"}
    step_seconds = {name: earlier.get(name, value) if name in result.skipped else value
                    for name, value in steps.items()}
    _write_json(out / "demo.json", {
        "plan": asdict(plan), "seed": seed, "description": plan.describe(),
        "autoattack": plan.describe_autoattack(), "data": result.data, "step_seconds": step_seconds,
        "last_invocation": {"seconds": result.seconds["total"], "skipped": result.skipped},
        "table": str(result.table), "plot": str(result.plot) if result.plot else None,
    })


# ---- data ----------------------------------------------------------------------------------------------------


def _prepare_data(plan: DemoPlan, folder: Path, data_dir: str | Path | None, seed: int, steps: _Steps) -> Path:
    """Cut the demo's seeded, class-balanced subsets into `folder` once; later runs read only those."""
    if all(path.is_file() for path in subset_files(folder, DATASET).values()):
        steps.skip("data", f"the demo's CIFAR-10 subset is already in {folder}")
        return folder
    sizes = {"train": plan.train_images + plan.val_images, "test": plan.eval_images}
    try:
        sources = cut_subsets(folder, DATASET, sizes, seed, data_dir=data_dir if data_dir is not None else EMBEDDED)
    except DataNotFoundError as error:
        raise DataNotFoundError(f"{error} (without --data-dir the demo uses the CIFAR-10 sample shipped with "
                                "awbench)") from None
    console.print(f"CIFAR-10 from {escape(sources['train'].source)} and {escape(sources['test'].source)}",
                  soft_wrap=True)
    console.print(f"wrote {sizes['train']} training and {sizes['test']} test images to {escape(str(folder))}")
    return folder


# ---- training and evaluation ---------------------------------------------------------------------------------


def _train_config(plan: DemoPlan, model: str, method: str, data_dir: Path, runs: Path, name: str, seed: int,
                  device: str) -> TrainConfig:
    return TrainConfig(
        dataset=DATASET, model=model, method=method, epochs=plan.epochs, batch_size=plan.batch_size, lr=plan.lr,
        schedule=plan.schedule, eps=EPS, step_size=plan.train_step_size, steps=plan.train_steps,
        subset=None, val_size=plan.val_images, data_dir=str(data_dir), out=str(runs), name=name, seed=seed,
        device=device,
    )


def _train(config: TrainConfig, show_progress: bool, steps: _Steps) -> Path:
    folder = RunFolder(Path(config.out) / str(config.name))
    try:
        done = folder.epochs_done()
    except CheckpointError as error:
        raise AwbenchError(f"{folder.checkpoint_path} cannot be resumed ({error}); delete {folder.path} and "
                           "rerun") from None
    if done >= config.epochs:
        steps.skip(f"train {config.name}", f"{folder.path} has all {config.epochs} epoch(s)")
        return folder.path
    if done:
        console.print(f"resuming {escape(str(folder.path))} after epoch {done}/{config.epochs}")
    return train(config, resume=done > 0, show_progress=show_progress)


def _evaluate(plan: DemoPlan, run_folder: Path, data_dir: Path, seed: int, device: str, show_progress: bool,
              steps: _Steps) -> None:
    out = run_folder / "eval"
    if (out / run_layout.SUMMARY).is_file():
        steps.skip(f"evaluate {run_folder.name}", f"{out} holds a finished evaluation ({run_layout.SUMMARY})")
        return
    console.print(f"AutoAttack: {escape(plan.describe_autoattack())}", soft_wrap=True)
    summary = evaluate_checkpoint(
        run_folder / run_layout.BEST_CHECKPOINT, attacks=ATTACKS, eps=EPS, norm="Linf", n_examples=plan.eval_images,
        data_dir=data_dir, seed=seed, device=device, out=out, show_progress=show_progress,
        steps=plan.eval_steps, **plan.autoattack,
    )
    robust = "  ".join(f"{name} {value:.1%}" for name, value in summary["robust_accuracy"].items())
    console.print(f"clean {summary['clean_accuracy']:.1%}  {robust}  worst case {summary['worst_case_accuracy']:.1%}")


def check_notes(runs: Path) -> list[str]:
    """One line per self-check that did not pass in an evaluation under `runs`: what the table's checks
    column abbreviates ('dynamic: flag'), with the evaluation's own explanation."""
    notes = []
    for path in sorted(runs.glob(f"*/eval/{run_layout.SUMMARY}")):
        try:
            checks = json.loads(path.read_text()).get("checks") or {}
        except (OSError, ValueError, AttributeError):
            continue
        for name, result in checks.items():
            if isinstance(result, dict) and result.get("status") not in (None, "pass"):
                notes.append(f"{path.parent.parent.name}: {name}: {result['status']}: {result.get('detail', '')}")
    return notes


def _print_summary(result: DemoResult) -> None:
    plan = result.plan
    console.rule("[bold]demo done")
    console.print(f"{escape(plan.describe())}", soft_wrap=True)
    console.print(f"[bold]data[/]: {escape(result.data)}", soft_wrap=True)
    notes = check_notes(result.out / "runs")
    if notes:
        console.print("[bold]checks column[/] (flag: read the number with care; fail: left off the front):")
        for note in notes:
            console.print(f"  {escape(note)}", soft_wrap=True)
    if plan.mode == "quick":
        console.print("[yellow]quick mode[/]: tiny budget, the numbers above only show that the pipeline works")
    if "REDUCED" in plan.describe_autoattack():
        console.print(f"[yellow]note[/]: {escape(plan.describe_autoattack())}", soft_wrap=True)
    ran = {k: v for k, v in result.seconds.items() if k != "total" and k not in result.skipped}
    slowest = ", ".join(f"{name} {value:.0f}s" for name, value in sorted(ran.items(), key=lambda kv: -kv[1])[:3])
    slowest = f" (slowest: {slowest})" if slowest else ""
    skipped = f"; {len(result.skipped)} finished step(s) skipped" if result.skipped else ""
    console.print(f"total {result.seconds['total']:.0f}s{slowest}{skipped}")
    console.print(f"[bold]table[/]: {escape(str(result.table))} (also comparison.csv, comparison.tex)",
                  soft_wrap=True)
    if result.plot is not None:
        console.print(f"[bold]plot[/]:  {escape(str(result.plot))} (also pareto.svg)", soft_wrap=True)
    else:
        console.print("[yellow]no plot[/]: no run has both a clean and a robust accuracy")

"""`evaluate_checkpoint`: the one entry point of an evaluation (the CLI and the demo call it)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from awbench import checkpoint as checkpoints
from awbench import distributed
from awbench.attacks import AttackOptions, attack_class, dynamic
from awbench.console import console
from awbench.data import balanced_subset, check_data_dir, load_dataset
from awbench.device import resolve_device
from awbench.errors import AwbenchError, CheckpointError
from awbench.evaluation import dynamic_models
from awbench.evaluation.report import per_sample_frame, versions, write_outputs
from awbench.evaluation.runner import build_attacks, evaluate_model
from awbench.locks import lock_folder
from awbench.models import ModelOptions, is_foreign
from awbench.models.checks import output_checks
from awbench.plans import print_evaluation_plan
from awbench.stats import accuracy_intervals
from awbench.threat import Norm, ThreatModel, parse_eps

DEFAULT_BATCH_SIZE = {"cpu": 256, "cuda": 1024}
DEFAULT_EPS = {Norm.LINF: 8 / 255, Norm.L2: 0.5}


def default_out(checkpoint_path: Path) -> Path:
    """An `eval-<timestamp>` folder inside the checkpoint's run folder (never an existing one)."""
    if str(checkpoint_path).startswith("zoo:"):  # no run folder; and zoo names are also default run names
        run_folder = Path("runs") / f"zoo-{str(checkpoint_path)[4:]}"
    elif is_foreign(checkpoint_path):  # rb:, tv:, file.py:build: runs/rb-cifar10-Linf-NAME, ...
        run_folder = Path("runs") / re.sub(r"[^\w.-]+", "-", str(checkpoint_path)).strip("-")
    else:
        run_folder = checkpoint_path if checkpoint_path.is_dir() else checkpoint_path.parent
    base = run_folder / f"eval-{datetime.now():%Y%m%d-%H%M%S}"
    out, counter = base, 1
    while out.exists():
        counter += 1
        out = base.with_name(f"{base.name}-{counter}")
    return out


def _threat(eps: float | str | None, norm: str | Norm | None, metadata: dict[str, Any]) -> ThreatModel:
    """Given values, else the checkpoint's training threat model (eps 0, i.e. none: 8/255 Linf, 0.5 L2)."""
    norm = norm if isinstance(norm, Norm) else Norm.parse(norm if norm is not None else metadata.get("norm") or "Linf")
    if eps is not None:
        return ThreatModel(norm, parse_eps(eps))
    try:
        trained = float(metadata.get("eps") or 0)
    except (TypeError, ValueError):
        raise CheckpointError(f"{metadata['checkpoint_path']} records an eps that is not a number "
                              f"({metadata.get('eps')!r}); give --eps") from None
    same_norm = Norm.parse(metadata.get("norm") or "Linf") is norm
    return ThreatModel(norm, trained if same_norm and 0 < trained <= 1 else DEFAULT_EPS[norm])


# What identifies a foreign model beyond its weights: the same state dict built by other code, other
# arguments or another input normalisation is another model, whose stored results must not be reused.
IDENTITY_KEYS = ("kind", "reference", "module", "function", "architecture", "num_classes", "model_args",
                 "file_sha256", "weights_sha256")


def model_identity(metadata: dict[str, Any]) -> dict[str, Any] | None:
    """The resume key's part for a foreign model (None for an awbench checkpoint: its weights say it all)."""
    source = metadata.get("source")
    if not isinstance(source, dict):
        return None
    identity = {key: source[key] for key in IDENTITY_KEYS if key in source}
    identity["input"] = {"mean": metadata.get("mean"), "std": metadata.get("std"),
                         "convention": metadata.get("foreign_checks", {}).get("input_range", {}).get("detail")}
    return json.loads(json.dumps(identity, default=repr))  # factory arguments may be any Python object


def evaluate_checkpoint(
    checkpoint: str | Path,
    *,
    attacks: list[str],
    eps: float | str | None = None,
    norm: str | Norm | None = None,
    n_examples: int = 1000,
    batch_size: int | None = None,
    data_dir: str | Path | None = None,
    seed: int = 0,
    device: str = "auto",
    out: str | Path | None = None,
    cascade: bool = False,
    show_progress: bool = True,
    amp: bool = False,
    compile: bool | str = False,
    model_options: ModelOptions | None = None,
    attack_only: dict[str, Any] | None = None,
    allow_factory: bool = False,
    pin_signal: float | None = None,
    dynamic_defaults: bool = True,
    **attack_options: Any,
) -> dict[str, Any]:
    """Evaluate a checkpoint (a .pt file or a run folder) under attack; write and return the summary.

    Examples: a seeded, class-balanced selection of `n_examples` from the test split of the checkpoint's
    dataset (the same for every model at the same seed and size). `eps`/`norm` default to the
    checkpoint's training threat model. `batch_size` defaults to 256 on CPU, 1024 on CUDA. `attacks`: names
    from `awbench.attacks.available_attacks()`; an AW-Net gets "adaptive" added. `compile` (opt-in):
    torch.compile the model, True for inductor or a backend name; the first batches pay for the
    compilation. `model_options`: weights, normalisation and classes of an `rb:`, `tv:` or factory
    (`file.py:build`) model, which also get the foreign-model checks; a factory runs only with
    `allow_factory=True` (the user named it for this call). `attack_options`: fields of
    `awbench.attacks.AttackOptions` (steps, step_size, restarts, random_start, version, aa_attacks,
    aa_iterations, aa_chunk_size, beta, cw_l2_steps, ...).

    Writes into `out` (default: `<run folder>/eval-<timestamp>`) summary.json, per_sample.csv and
    eval_state.json; evaluating again into the same `out` resumes, skipping finished units. Returns the
    summary dict: checkpoint, model, method, run, dataset, split, n_examples, norm, eps, seed, device,
    versions, clean_accuracy, robust_accuracy {attack: fraction}, worst_case_accuracy, seconds {attack: s},
    checks {name: {status: pass|fail|flag, detail}}, dynamic, amp, compiled, cascade, per_attack_accuracy_means,
    details, attacks, out. Raises AwbenchError (one-line message) on bad input.
    `pin_signal` (an AW-Net): evaluate the network with every signal fixed to r in [0, 1]; the summary then
    holds "pin_signal" and a "curve" point. `dynamic_defaults=False`: a model with a router meets only the asked
    attacks (flagged "incomplete"). See awbench.evaluation.dynamic_models.
    """
    attacks = [attacks] if isinstance(attacks, str) else list(attacks)
    if not attacks:
        raise AwbenchError("give at least one --attack")
    for name in attacks:
        attack_class(name)
    if isinstance(n_examples, bool) or int(n_examples) < 1:
        raise AwbenchError(f"--n-examples must be at least 1, got {n_examples}")
    if batch_size is not None and int(batch_size) < 1:
        raise AwbenchError(f"--batch-size must be at least 1, got {batch_size}")
    if eps is not None:
        parse_eps(eps)
    if norm is not None and not isinstance(norm, Norm):
        Norm.parse(norm)
    check_data_dir(data_dir)
    if pin_signal is not None:
        pin_signal = dynamic.check_pin_signal(pin_signal)
    options = AttackOptions.from_kwargs(**attack_options)
    world, torch_device = distributed.setup(resolve_device(device))  # under torchrun: shard the work
    batch_size = int(batch_size or DEFAULT_BATCH_SIZE["cuda" if torch_device.type == "cuda" else "cpu"])

    model, metadata = checkpoints.load(checkpoint, torch_device, model_options, allow_factory=allow_factory)
    threat = _threat(eps, norm, metadata)
    if pin_signal is not None:
        model = dynamic.pin(model, pin_signal)
    attack_objects = build_attacks(attacks, threat, options, batch_size=batch_size, seed=seed)
    for attack in attack_objects:
        attack.check_model(model)
    if not metadata.get("dataset"):
        raise CheckpointError(f"{metadata['checkpoint_path']} does not name the dataset it was trained on")
    data = load_dataset(metadata["dataset"], "test", data_dir=data_dir)
    indices = balanced_subset(data.labels, int(n_examples), seed)
    x, y = data.select(indices).as_float("cpu")
    model_checks = output_checks(model, x, metadata, torch_device)  # foreign models only: logits [N, classes]
    capped = {"n_examples_requested": int(n_examples)} if int(n_examples) > len(indices) else {}
    if capped and world.is_main:
        console.print(f"[yellow]note:[/] --n-examples {int(n_examples)} is more than the {len(data)} images of "
                      f"the {data.name.value} test set; evaluating all {len(indices)}")

    out_path = distributed.broadcast_object(world, Path(out) if out is not None else default_out(Path(checkpoint)))
    # Rank 0 alone writes, so it alone locks: a second evaluation into the same folder is refused.
    with lock_folder(out_path, "evaluation", enabled=world.is_main):  # a refused evaluation prints no plan
        if show_progress and world.is_main:
            print_evaluation_plan(metadata, data, int(n_examples), attack_objects, options, threat, torch_device,
                                  batch_size, model, dynamic_defaults)
        try:
            results = evaluate_model(model, x, y, attacks=attack_objects, options=options, threat=threat,
                                     batch_size=batch_size, seed=seed, device=torch_device, cascade=cascade,
                                     out=out_path, show_progress=show_progress, world=world, amp=amp,
                                     compile=compile, attack_only=attack_only,
                                     model_identity=model_identity(metadata), dynamic_defaults=dynamic_defaults)
        except KeyboardInterrupt:
            console.print(f"[yellow]interrupted:[/] finished work is kept in {out_path}; evaluate again with "
                          f"--out {out_path} to resume")
            raise
        per_sample = results.pop("per_sample")
        results["checks"] = {**model_checks, **results["checks"]}
        summary = {
            "checkpoint": metadata["checkpoint_path"], "model": metadata["architecture"],
            "method": metadata.get("method"), "run": metadata.get("run"), "dataset": data.name.value,
            "split": "test", "n_examples": results.pop("n_examples"), **capped, "norm": threat.norm.value,
            "eps": threat.eps, "seed": seed, "device": str(torch_device), "batch_size": batch_size,
            "versions": versions(), "data": data.select(indices).provenance(),
            "clean_accuracy": results.pop("clean_accuracy"),
            "robust_accuracy": results.pop("robust_accuracy"),
            "worst_case_accuracy": results.pop("worst_case_accuracy"), **results, "out": str(out_path),
            **({"source": metadata["source"]} if "source" in metadata else {}), "pin_signal": pin_signal,
        }
        if pin_signal is not None:
            summary["curve"] = dynamic_models.curve_point(pin_signal, dynamic_models.curve_label(metadata))
        summary["intervals"] = accuracy_intervals(summary)  # Wilson 95% of clean, each attack, worst case
        if world.is_main:
            write_outputs(out_path, summary, per_sample_frame(indices.tolist(), per_sample, summary["attacks"]))
    distributed.barrier(world)
    return summary

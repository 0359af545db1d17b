"""`evaluate_checkpoint`: the one entry point of an evaluation (the CLI and the demo call it)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from awbench import checkpoint as checkpoints
from awbench import distributed, run_layout
from awbench.attacks import attack_class, available_attacks, build_attacks, check_settings, dynamic, options_for
from awbench.console import console
from awbench.data import balanced_subset, check_data_dir, load_dataset
from awbench.device import resolve_device
from awbench.errors import AwbenchError, CheckpointError
from awbench.evaluation import dynamic_models
from awbench.evaluation.record import EvaluationRecord
from awbench.evaluation.report import per_sample_frame, versions, write_outputs
from awbench.evaluation.runner import evaluate_model
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
    return run_layout.new_evaluation_folder(run_folder)


def _threat(eps: float | None, norm: Norm | None, metadata: dict[str, Any]) -> ThreatModel:
    """Given values, else the checkpoint's training threat model (eps 0, i.e. none: 8/255 Linf, 0.5 L2)."""
    norm = norm or Norm.parse(metadata.get("norm") or "Linf")
    if eps is not None:
        return ThreatModel(norm, eps)
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
    from `awbench.attacks.available_attacks()`; a model with a router also gets every attack
    `added_for_dynamic_models` (adaptive, autoattack). `compile` (opt-in):
    torch.compile the model, True for inductor or a backend name; the first batches pay for the
    compilation. `model_options`: weights, normalisation and classes of an `rb:`, `tv:` or factory
    (`file.py:build`) model, which also get the foreign-model checks; a factory runs only with
    `allow_factory=True` (the user named it for this call). `attack_options`: option fields of the
    attacks (`awbench.attacks.option_names()`: steps, step_size, restarts, random_start, early_stop, version,
    aa_attacks, aa_iterations, aa_chunk_size, beta, cw_l2_steps, ...); each attack takes those of its own
    `Options` dataclass.

    Writes into `out` (default: `<run folder>/eval-<timestamp>`) summary.json, per_sample.csv and
    eval_state.json; evaluating again into the same `out` resumes, skipping finished units. Returns the
    summary dict (EvaluationRecord.to_json()): checkpoint, model, method, run, dataset, split, n_examples,
    norm, eps, seed, device,
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
    eps_value = parse_eps(eps) if eps is not None else None
    norm_value = norm if isinstance(norm, Norm) or norm is None else Norm.parse(norm)
    check_data_dir(data_dir)
    if pin_signal is not None:
        pin_signal = dynamic.check_pin_signal(pin_signal)
    check_settings(attack_options)
    for name in available_attacks():  # every option value checked now, before anything loads
        options_for(name, attack_options)
    world, torch_device = distributed.setup(resolve_device(device))  # under torchrun: shard the work
    batch_size = int(batch_size or DEFAULT_BATCH_SIZE["cuda" if torch_device.type == "cuda" else "cpu"])

    model, metadata = checkpoints.load(checkpoint, torch_device, model_options, allow_factory=allow_factory)
    threat = _threat(eps_value, norm_value, metadata)
    if pin_signal is not None:
        model = dynamic.pin(model, pin_signal)
    names = dynamic_models.with_dynamic_defaults(attacks, model, enabled=dynamic_defaults)
    attack_objects = build_attacks(names, threat, attack_options, batch_size=batch_size, seed=seed)
    for attack in attack_objects:  # refused before any work (evaluate_model trusts its attacks to fit the model)
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
            print_evaluation_plan(metadata, data, int(n_examples), attack_objects, threat, torch_device,
                                  batch_size, attacks, dynamic=dynamic.router_of(model) is not None)
        try:
            results = evaluate_model(model, x, y, attack_objects, device=torch_device, cascade=cascade,
                                     out=out_path, show_progress=show_progress, world=world, amp=amp,
                                     compile=compile, attack_only=attack_only,
                                     model_identity=model_identity(metadata))
        except KeyboardInterrupt:
            console.print(f"[yellow]interrupted:[/] finished work is kept in {out_path}; evaluate again with "
                          f"--out {out_path} to resume")
            raise
        per_sample = results.pop("per_sample")
        results["checks"] = {**model_checks, **results["checks"]}
        record = EvaluationRecord(
            checkpoint=metadata["checkpoint_path"], model=metadata["architecture"], method=metadata.get("method"),
            run=metadata.get("run"), dataset=data.name.value, split="test", **capped, norm=threat.norm.value,
            eps=threat.eps, seed=seed, device=str(torch_device), batch_size=batch_size, versions=versions(),
            data=data.select(indices).provenance(), **results, out=str(out_path), source=metadata.get("source"),
            pin_signal=pin_signal,
            curve=(dynamic_models.curve_point(pin_signal, dynamic_models.curve_label(metadata))
                   if pin_signal is not None else None),
        )
        record.intervals = accuracy_intervals(record.to_json())  # Wilson 95% of clean, each attack, worst case
        summary = record.to_json()
        if world.is_main:
            write_outputs(out_path, record, per_sample_frame(indices.tolist(), per_sample, record.attacks))
    distributed.barrier(world)
    return summary

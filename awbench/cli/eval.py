"""`awbench eval CHECKPOINT --attack A ...`: parse options and hand them to awbench.evaluation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from awbench.cli import app

EPILOG = (
    "Examples:\n\n"
    "  awbench eval runs/cifar10-small-cnn-pgd-at --attack pgd --attack autoattack\n\n"
    "  awbench eval runs/x/best.pt -a fgsm -a pgd -a cw -a autoattack --eps 8/255 --n-examples 500 --cascade\n\n"
    "  awbench eval runs/x/best.pt --attack pgd --attack cw-l2 --norm L2 --eps 0.5 --steps 50\n\n"
    "  awbench eval runs/x/best.pt --attack autoattack --out runs/x/eval-aa --json > summary.json\n\n"
    "  awbench eval rb:Carmon2019Unlabeled --model-dir models/ -a autoattack\n\n"
    "  awbench eval --model my_net.py:build --weights net.pt --normalized-inside -a pgd\n\n"
    "  awbench eval tv:resnet18 --weights r18.pt --mean 0.49,0.48,0.45 --std 0.25,0.24,0.26\n\n"
    "  awbench eval runs/x/best.pt -a pgd --eps 1/255,2/255,4/255,8/255,16/255 --n-examples 500\n\n"
    "  awbench eval zoo:cifar10-aw-small-cnn-awnet --pin-signal 0.5 -a pgd\n\n"
    "Writes into --out (default: an eval-<timestamp> folder in the run folder) summary.json, per_sample.csv "
    "and eval_state.json; running again with the same --out resumes a killed evaluation. An AW-Net also gets "
    "the adaptive suite and AutoAttack, and per-regime bounds (its signals pinned to 0 and to 1). "
    "Exits 1 when a self-check fails."
)


@app.command("eval", epilog=EPILOG)
def eval_command(
    checkpoint: Annotated[Path | None, typer.Argument(
        help="A checkpoint .pt, a run folder (best.pt, else checkpoint.pt), zoo:NAME, rb:MODEL_ID (RobustBench), "
             "tv:ARCH (torchvision) or FILE.py:FUNCTION / package.module:FUNCTION (your model factory).")] = None,
    attack: Annotated[list[str] | None, typer.Option(
        "--attack", "-a", help="clean | fgsm | pgd | cw | cw-l2 | autoattack | adaptive; repeat for several "
                               "(default: pgd).")] = None,
    eps: Annotated[str | None, typer.Option(help="Budget, e.g. 8/255 or 0.5 (default: the checkpoint's); a list "
                                                 "1/255,2/255,4/255 sweeps them on the same examples.")] = None,
    norm: Annotated[str | None, typer.Option(help="Linf | L2 (default: the checkpoint's).")] = None,
    n_examples: Annotated[int, typer.Option(help="Test examples (seeded, class-balanced).")] = 1000,
    batch_size: Annotated[int | None, typer.Option(help="Images per batch (default: 256 CPU, 1024 CUDA).")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Folder with the data (env: AWBENCH_DATA).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the example selection and of the attacks.")] = 0,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda")] = "auto",
    out: Annotated[Path | None, typer.Option(help="Output folder; the same folder again resumes.")] = None,
    cascade: Annotated[bool, typer.Option(
        help="Each attack only on survivors of the previous ones (cheapest first): a faster worst case; "
             "per-attack numbers then mean 'after the cascade'.")] = False,
    steps: Annotated[int, typer.Option(help="pgd / cw / adaptive: steps per restart.")] = 20,
    step_size: Annotated[str | None, typer.Option(help="pgd / cw / adaptive: step, e.g. 2/255 (eps/4).")] = None,
    restarts: Annotated[int, typer.Option(help="pgd / cw / adaptive: restarts.")] = 1,
    random_start: Annotated[bool, typer.Option(help="pgd / cw / adaptive: random start in the ball.")] = True,
    early_stop: Annotated[bool, typer.Option(
        help="pgd / cw / adaptive: a sample stops at its first fooling iterate (faster, never weaker); "
             "--no-early-stop judges the last iterate only, as torchattacks does.")] = True,
    version: Annotated[str, typer.Option(help="autoattack: standard | plus | rand")] = "standard",
    beta: Annotated[float, typer.Option(help="adaptive: weight of its router hinge.")] = 1.0,
    chunk_size: Annotated[int | None, typer.Option(help="autoattack: examples per resumable chunk.")] = None,
    attack_option: Annotated[list[str] | None, typer.Option(
        metavar="FIELD=VALUE",
        help="Any option of the asked attacks as FIELD=VALUE (a JSON value or text), e.g. cw_l2_steps=50; "
             "repeat; overrides the flag of the same name. Each attack takes the fields of its own options.")] = None,
    amp: Annotated[bool, typer.Option(
        help="Attacks differentiate under bf16 autocast (faster on GPUs); clean predictions and the judging of "
             "adversarial examples stay fp32. A check first compares fp32 and bf16 PGD accuracy on a slice.")] = False,
    compile: Annotated[bool, typer.Option(
        help="torch.compile the model first (opt-in; pays off on GPUs for long evaluations, costs about a "
             "minute of compilation on a CPU).")] = False,
    pin_signal: Annotated[float | None, typer.Option(
        help="AW-Net: evaluate the network with every regulation signal fixed to this r in [0, 1] (0 = clean, "
             "1 = adversarial weights); recorded as pin_signal and a curve point.")] = None,
    adaptive: Annotated[bool, typer.Option(
        "--adaptive/--no-adaptive",
        help="AW-Net: also run the adaptive suite and AutoAttack (default); --no-adaptive runs only the asked "
             "attacks and marks the summary 'incomplete for a dynamic model'.")] = True,
    json_output: Annotated[bool, typer.Option("--json", help="Print only the summary JSON on stdout.")] = False,
    weights: Annotated[Path | None, typer.Option(
        help="tv: / factory models: a state dict (read with weights_only; no code runs from it).")] = None,
    mean: Annotated[str | None, typer.Option(
        help="tv: / factory: the model expects (x-mean)/std; awbench adds it in front, e.g. 0.49,0.48,0.45.")] = None,
    std: Annotated[str | None, typer.Option(help="tv: / factory: see --mean, e.g. 0.25,0.24,0.26.")] = None,
    normalized_inside: Annotated[bool, typer.Option(
        help="tv: / factory: the model takes images in [0, 1] and normalises them itself.")] = False,
    num_classes: Annotated[int | None, typer.Option(
        help="tv: / factory: outputs per image (default: the dataset's).")] = None,
    model_arg: Annotated[list[str] | None, typer.Option(
        help="factory / tv: a keyword argument, e.g. depth=28; repeat.")] = None,
    dataset: Annotated[str | None, typer.Option(
        help="tv: / factory: the dataset to evaluate on (default cifar10).")] = None,
    model: Annotated[str | None, typer.Option(
        "--model", help="Instead of CHECKPOINT: your model factory FILE.py:FUNCTION or package.module:FUNCTION "
                        "(or rb:/tv:), with --weights.")] = None,
    model_dir: Annotated[Path | None, typer.Option(
        help="rb: weights folder, RobustBench layout <dir>/<dataset>/<threat>/<MODEL_ID>.pt "
             "(env: AWBENCH_MODELS).")] = None,
) -> None:
    """Evaluate a checkpoint under attack: clean, FGSM, PGD, CW, CW-L2, AutoAttack (+ adaptive for AW-Net)."""
    from awbench.distributed import is_main_process
    from awbench.evaluation import eps_sweep, evaluate_checkpoint, failed_checks, print_summary
    from awbench.models.options import ModelOptions, parse_floats, parse_model_args
    from awbench.threat import parse_eps

    if (checkpoint is None) == (model is None):
        raise typer.BadParameter("Missing argument 'CHECKPOINT' (or --model FILE.py:FUNCTION)" if model is None
                                 else "give CHECKPOINT or --model, not both")
    reference = checkpoint if model is None else model
    evaluate = eps_sweep.evaluate_eps_sweep if eps_sweep.is_eps_list(eps) else evaluate_checkpoint
    flags = {"steps": steps, "step_size": parse_eps(step_size, name="step-size") if step_size is not None else None,
             "restarts": restarts, "random_start": random_start, "early_stop": early_stop, "version": version,
             "beta": beta, "aa_chunk_size": chunk_size}
    summary = evaluate(
        reference, attacks=attack or ["pgd"], eps=eps, norm=norm, n_examples=n_examples, batch_size=batch_size,
        data_dir=data_dir, seed=seed, device=device, out=out, cascade=cascade,
        **_with_attack_options(flags, attack_option or []), amp=amp, compile=compile,
        allow_factory=True,  # a factory named on this command line may run
        pin_signal=pin_signal, dynamic_defaults=adaptive,
        model_options=ModelOptions(weights=weights, mean=parse_floats(mean, "mean"), std=parse_floats(std, "std"),
                                   normalized_inside=normalized_inside, num_classes=num_classes, dataset=dataset,
                                   model_args=parse_model_args(model_arg), model_dir=model_dir),
    )
    if not is_main_process():
        return
    if json_output:
        typer.echo(json.dumps(summary, indent=2))
    elif "summaries" in summary:
        eps_sweep.print_sweep(summary)
    else:
        print_summary(summary)
    failed = eps_sweep.failed_sweep_checks(summary) if "summaries" in summary else failed_checks(summary)
    if failed:
        typer.echo(f"error: self-check failed: {', '.join(failed)} (see {summary['out']}/summary.json)", err=True)
        raise typer.Exit(1)


def _with_attack_options(flags: dict[str, Any], pairs: list[str]) -> dict[str, Any]:
    """`flags` overridden by each --attack-option FIELD=VALUE (VALUE read as JSON, else kept as text); which
    attack takes which field is decided when the attacks are built (awbench.attacks)."""
    from awbench.errors import AwbenchError

    settings, given = dict(flags), set()
    for pair in pairs:
        field, separator, text = pair.partition("=")
        field = field.strip().replace("-", "_")
        if not separator or not field or field in given:
            raise AwbenchError(f"--attack-option '{pair}' is not FIELD=VALUE (e.g. cw_l2_steps=50) or repeats a field")
        given.add(field)
        try:
            settings[field] = json.loads(text)
        except ValueError:
            settings[field] = text
    return settings

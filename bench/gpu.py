"""GPU speed path benchmark: training images/s in fp32 vs bf16 + channels_last, and AutoAttack cost.

    python bench/gpu.py                       # on a GPU machine: resnet18, batch 128 (the recorded setting)
    python bench/gpu.py --tiny                # anywhere (CPU): small-cnn, tiny sizes; proves the script runs

Training is timed through awbench's own step (TrainingMethod.step + SGD, the loop's autocast), on random
images (speed does not depend on pixel values). AutoAttack (standard version, through awbench's adapter) is
timed on images labelled by the model's own predictions, so every image is attacked.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import model_zoo  # noqa: E402
from awbench.attacks import create_attack  # noqa: E402
from awbench.attacks.autoattack import AutoAttackOptions  # noqa: E402
from awbench.device import resolve_device  # noqa: E402
from awbench.threat import Norm, ThreatModel  # noqa: E402
from awbench.training import TrainConfig  # noqa: E402
from awbench.training.methods import build_method  # noqa: E402


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def training_images_per_second(model_name: str, method: str, *, fast: bool, batch: int, iterations: int,
                               warmup: int, device: torch.device) -> float:
    torch.manual_seed(0)
    model = model_zoo.create(model_name).to(device).train()
    if fast:
        model = model.to(memory_format=torch.channels_last)
    trainer = build_method(TrainConfig(method=method, steps=10), device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.rand(batch, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    if fast:
        x = x.contiguous(memory_format=torch.channels_last)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if fast else nullcontext()
    for index in range(warmup + iterations):
        if index == warmup:
            synchronize(device)
            started = time.perf_counter()
        with autocast:
            result = trainer.step(model, x, y)
        optimizer.zero_grad(set_to_none=True)
        result.loss.backward()
        optimizer.step()
    synchronize(device)
    return batch * iterations / (time.perf_counter() - started)


def autoattack_seconds_per_1000(model_name: str, *, images: int, batch: int, device: torch.device,
                                iterations: int | None, attacks: list[str] | None = None) -> float:
    torch.manual_seed(0)
    model = model_zoo.create(model_name).to(device).eval()
    x = torch.rand(images, 3, 32, 32, device=device)
    with torch.no_grad():
        y = model(x).argmax(1)
    options = AutoAttackOptions(version="custom" if attacks else "standard", aa_attacks=attacks,
                                aa_iterations=iterations)
    attack = create_attack("autoattack", ThreatModel(Norm.LINF, 8 / 255), options, batch_size=batch, seed=0)
    synchronize(device)
    started = time.perf_counter()
    attack.run(model, x, y)
    synchronize(device)
    return (time.perf_counter() - started) * 1000 / images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--aa-images", type=int, default=1000)
    parser.add_argument("--aa-iterations", type=int, default=None, help="override APGD/FAB iterations")
    parser.add_argument("--tiny", action="store_true",
                        help="small-cnn, batch 16, 2 iterations, AutoAttack's APGD-CE (5 iterations) on 16 images")
    parser.add_argument("--aa-attacks", nargs="+", default=None, help="a custom AutoAttack subset (e.g. apgd-ce)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    if args.tiny:
        args.model, args.batch, args.iterations, args.warmup = "small-cnn", 16, 2, 1
        args.aa_images, args.aa_iterations = 16, args.aa_iterations or 5
        args.aa_attacks = ["apgd-ce"]
    device = resolve_device(args.device)
    rows = []
    for method in ("standard", "pgd-at"):
        speeds = {}
        for fast in (False, True):
            speeds[fast] = training_images_per_second(args.model, method, fast=fast, batch=args.batch,
                                                      iterations=args.iterations, warmup=args.warmup, device=device)
        rows.append({"measure": f"train {method} img/s", "fp32": speeds[False], "bf16+channels_last": speeds[True],
                     "ratio": speeds[True] / speeds[False]})
    aa = autoattack_seconds_per_1000(args.model, images=args.aa_images, batch=max(args.batch, 16), device=device,
                                     iterations=args.aa_iterations, attacks=args.aa_attacks)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"device: {name}; model: {args.model}; batch {args.batch}; torch {torch.__version__}")
    print("| measure | fp32 | bf16+channels_last | ratio |")
    print("|---|---|---|---|")
    for row in rows:
        print(f"| {row['measure']} | {row['fp32']:.1f} | {row['bf16+channels_last']:.1f} | {row['ratio']:.2f}x |")
    version = "+".join(args.aa_attacks) if args.aa_attacks else "standard"
    print(f"| AutoAttack ({version}{'' if args.aa_iterations is None else f', {args.aa_iterations} iters'}) "
          f"s per 1000 images, fp32 | {aa:.1f} | | |")
    if args.json:
        args.json.write_text(json.dumps({"device": name, "model": args.model, "rows": rows,
                                         "autoattack_seconds_per_1000": aa}, indent=2))


if __name__ == "__main__":
    main()

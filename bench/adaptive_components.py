"""Each component of the adaptive suite alone on an AW-Net, its union, and the suite as the evaluation runs it.

Same examples as `awbench eval --n-examples N --seed S` (the seeded, class-balanced selection); only the
clean-correct ones are attacked; every result is re-judged on the fp32 model and budget-checked here.
Robust accuracy is over all N examples (misclassified clean = broken), as in the evaluation.

    OMP_NUM_THREADS=1 python bench/adaptive_components.py --data-dir ../shared/data --n 500 --json out.json
    python bench/adaptive_components.py --device cuda --n 500 --json out.json      # on a GPU

--suite-only skips the components run alone. --pinned-check then runs standard AutoAttack on the network pinned
to r = 0 on the suite's survivors only, and judges its examples on the real network: the images the r = 0
pinned bound breaks that the suite leaves, and whether any of those examples fools the dynamic network.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from awbench import checkpoint
from awbench.attacks import create_attack
from awbench.attacks.adaptive import CANDIDATES
from awbench.attacks.autoattack import build_autoattack
from awbench.attacks.dynamic import pin
from awbench.data import balanced_subset, load_dataset
from awbench.evaluation.checks import budget_stats
from awbench.threat import ThreatModel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="zoo:cifar10-aw-small-cnn-awnet")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="auto", help="auto (cuda when available) | cpu | cuda")
    parser.add_argument("--json", default=None, help="also write the rows here")
    parser.add_argument("--suite-only", action="store_true", help="skip the components run alone")
    parser.add_argument("--only", default=None,
                        help="comma-separated components to run alone, and nothing else (no union, no suite)")
    parser.add_argument("--pinned-check", action="store_true",
                        help="AutoAttack pinned to r = 0 on the suite's survivors, judged on the real network")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device

    model, metadata = checkpoint.load(args.checkpoint)
    model.eval().to(device)
    data = load_dataset(metadata["dataset"], "test", data_dir=args.data_dir)
    x, y = data.select(balanced_subset(data.labels, args.n, args.seed)).as_float(device)
    with torch.no_grad():
        correct = model(x).argmax(1) == y
    xc, yc = x[correct], y[correct]
    threat = ThreatModel(eps=float(metadata.get("eps") or 8 / 255))
    attack = create_attack("adaptive", threat, batch_size=args.batch, seed=args.seed)
    rows, union = [], torch.ones(len(yc), dtype=torch.bool, device=device)

    def record(name: str, survived: torch.Tensor, seconds: float, x_adv: torch.Tensor) -> None:
        violations = budget_stats(xc, x_adv, threat)["violations"]
        rows.append({"component": name, "robust_accuracy": int(survived.sum()) / args.n,
                     "survivors": int(survived.sum()), "seconds": round(seconds, 1), "budget_violations": violations})
        print(json.dumps(rows[-1]), flush=True)

    only = None if args.only is None else args.only.split(",")
    unknown = sorted(set(only or ()) - {candidate.name for candidate in CANDIDATES})
    if unknown:
        parser.error(f"--only: no component {', '.join(unknown)} (components: "
                     f"{', '.join(candidate.name for candidate in CANDIDATES)})")
    for candidate in () if args.suite_only else [c for c in CANDIDATES if only is None or c.name in only]:
        torch.manual_seed(args.seed)
        began = time.perf_counter()
        parts = [candidate.run(attack, model, xc[i:i + args.batch], yc[i:i + args.batch]).detach()
                 for i in range(0, len(yc), args.batch)]
        seconds = time.perf_counter() - began
        x_adv = torch.cat(parts)
        with torch.no_grad():
            survived = model(x_adv).argmax(1) == yc
        union &= survived
        record(candidate.name, survived, seconds, x_adv)
    if only is not None:
        finish(args, rows, len(yc), device)
        return
    if not args.suite_only:
        rows.append({"component": "union of the components run alone", "robust_accuracy": int(union.sum()) / args.n,
                     "survivors": int(union.sum()), "seconds": round(sum(r["seconds"] for r in rows), 1)})
        print(json.dumps(rows[-1]), flush=True)
    torch.manual_seed(args.seed)
    began = time.perf_counter()
    x_adv = torch.cat([attack.run(model, xc[i:i + args.batch], yc[i:i + args.batch]).x_adv
                       for i in range(0, len(yc), args.batch)])
    seconds = time.perf_counter() - began
    with torch.no_grad():
        suite_survived = model(x_adv).argmax(1) == yc
    record("adaptive (the suite, cascaded)", suite_survived, seconds, x_adv)
    if args.pinned_check:
        rows.append(pinned_check(model, xc[suite_survived], yc[suite_survived], threat, args.seed, args.batch))
        print(json.dumps(rows[-1]), flush=True)
    finish(args, rows, len(yc), device)


def finish(args: argparse.Namespace, rows: list[dict], clean_correct: int, device: str) -> None:
    summary = {"checkpoint": args.checkpoint, "n": args.n, "clean_correct": clean_correct, "device": device,
               "rows": rows}
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(summary, handle, indent=2)


def pinned_check(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, threat: ThreatModel, seed: int,
                 batch: int) -> dict:
    """Standard AutoAttack on the network pinned to r = 0, on (x, y); its examples judged on both networks."""
    pinned = pin(model, 0.0)
    adversary = build_autoattack(pinned, norm=threat.norm.value, eps=threat.eps, version="standard",
                                 device=x.device, seed=seed)
    began = time.perf_counter()
    x_adv, _ = adversary.run_standard_evaluation(x.contiguous(), y, batch_size=batch) if len(y) else (x, None)
    seconds = time.perf_counter() - began
    with torch.no_grad():
        fools_pinned = pinned(x_adv).argmax(1) != y
        fools_real = model(x_adv).argmax(1) != y
    return {"component": "AutoAttack pinned to r = 0, on the suite's survivors", "attacked": len(y),
            "fools_pinned_network": int(fools_pinned.sum()), "fools_real_network": int(fools_real.sum()),
            "fooled_pinned_at": fools_pinned.nonzero().flatten().tolist(), "seconds": round(seconds, 1),
            "budget_violations": budget_stats(x, x_adv, threat)["violations"]}


if __name__ == "__main__":
    main()

"""Is an AW-Net dynamic in fact? Its router's outputs on clean and on PGD-perturbed test images (issue 12).

For each checkpoint: the detection head's p(adversarial) and the regulation signals (every layer's, every
filter's) on the same class-balanced test images, clean and after white-box PGD-10 through the router
(Linf 8/255, step 2/255, random start). A network whose signals are the same for clean and perturbed inputs,
and the same for every sample, blends its banks by fixed weights: a static network, whatever its name.

    python bench/awnet_signals.py RUN_OR_CKPT [...] --n-examples 100 --data-dir DATA
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from awbench import checkpoint  # noqa: E402
from awbench.attacks.pgd import pgd  # noqa: E402
from awbench.data import load_dataset  # noqa: E402
from awbench.data.subsets import balanced_subset  # noqa: E402
from model_zoo.aw import routing  # noqa: E402

COLUMNS = ["detection p (clean)", "detection p (PGD)", "signal mean (clean)", "signal mean (PGD)",
           "mean abs signal change, clean to PGD", "sd over samples, per filter (clean)",
           "sd over one sample's filters (clean)"]


def router_outputs(model: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(p(adversarial) [N], every signal of every layer [N, filters]) of one forward pass."""
    awnet = routing(model)
    with torch.no_grad():
        model(x)
    signals = torch.cat([signal.flatten(1) for signal in awnet.last_signals.values()], 1)
    return torch.sigmoid(awnet.last_detection_logit), signals


def row(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[float]:
    model.eval()
    torch.manual_seed(0)
    x_adv = pgd(model, x, y, eps=8 / 255, step_size=2 / 255, steps=10)
    p_clean, s_clean = router_outputs(model, x)
    p_adv, s_adv = router_outputs(model, x_adv)
    return [p_clean.mean().item(), p_adv.mean().item(), s_clean.mean().item(), s_adv.mean().item(),
            (s_adv - s_clean).abs().mean().item(), s_clean.std(0).mean().item(), s_clean.std(1).mean().item()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="+", help="AW-Net checkpoints, run folders or zoo:NAME")
    parser.add_argument("--n-examples", type=int, default=100)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    test = load_dataset("cifar10", "test", data_dir=args.data_dir)
    x, y = test.select(balanced_subset(test.labels, args.n_examples, 0)).as_float()
    print(f"{args.n_examples} CIFAR-10 test images (seed 0); PGD-10 Linf 8/255 through the router")
    print("| checkpoint | " + " | ".join(COLUMNS) + " |")
    print("|---|" + "---:|" * len(COLUMNS))
    for name in args.checkpoints:
        model, _ = checkpoint.load(name, "cpu")
        if routing(model) is None:
            print(f"| {name} | not an AW-Net |" + " |" * (len(COLUMNS) - 1))
            continue
        print(f"| {name} | " + " | ".join(f"{value:.3f}" for value in row(model, x, y)) + " |", flush=True)


if __name__ == "__main__":
    main()

"""What an evaluation adds for a dynamic model (AW-Net): the safe attack set, per-regime bounds, pinning.

* Safe defaults: a model with a router always meets the adaptive suite and AutoAttack, unless the caller
  opts out (`--no-adaptive`), which marks the summary: checks["dynamic_attack_set"] = flag, "incomplete for
  a dynamic model".
* Per-regime bounds: the asked attacks (adaptive excluded: a pinned network has no router to steer) on the
  network with every signal pinned to r = 0 ("clean") and r = 1 ("adversarial"), on the same examples,
  written beside the dynamic numbers as summary["regime_bounds"], with the share of the adaptive suite's
  successes that the router sent to each regime. A pinned network is another (static) model: its numbers
  bound what an attacker gets by forcing one regime, they do not enter the dynamic worst case.
* Pinned evaluations (`--pin-signal r`, `awbench sweep-signal`): summary["pin_signal"] = r and a curve point
  {"kind": "pin_signal", "value": r, "label": ...} (docs: CONTRACTS, compare draws the curve).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from awbench.attacks import Attack, create_attack, dynamic, dynamic_model_attacks
from awbench.evaluation import checks as checks_module
from awbench.run_layout import pinned_folder

REGIMES = {"clean": 0.0, "adversarial": 1.0}
CURVE_KIND = "pin_signal"


def attack_set_check(attacks: list[Attack], model: nn.Module) -> dict[str, str] | None:
    """The `dynamic_attack_set` check: did a model with a router meet every attack it must (None: no router)?"""
    if dynamic.router_of(model) is None:
        return None
    names = [attack.name for attack in attacks]
    missing = [name for name in dynamic_model_attacks() if name not in names]
    if missing:
        return checks_module.check(
            "flag", f"incomplete for a dynamic model: {' and '.join(missing)} did not run (not asked, and the "
                    "dynamic defaults were off: --no-adaptive); the worst case may overstate robustness")
    return checks_module.check("pass", "the adaptive suite and AutoAttack ran on the dynamic model")


def with_dynamic_defaults(names: list[str], model: nn.Module, *, enabled: bool) -> list[str]:
    """`names` plus, for a model with a router (unless not `enabled`), every attack it must meet."""
    if not enabled or dynamic.router_of(model) is None:
        return list(names)
    return list(names) + [name for name in dynamic_model_attacks() if name not in names]


def regime_bounds(evaluate: Callable[..., dict[str, Any]], model: nn.Module, x: torch.Tensor, y: torch.Tensor, *,
                  attacks: list[Attack], details: dict[str, Any], out: Path | None,
                  **settings: Any) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    """(summary["regime_bounds"], checks to merge) from `evaluate` (evaluate_model) on the pinned networks.

    Each pinned evaluation keeps its own resumable state in `out/pinned-r<r>`. An attack on the router itself
    (`needs_router`) is left out: a pinned network has none; its `details` give the routed shares.
    """
    pinned_attacks = [attack for attack in attacks if not attack.needs_router]
    if not pinned_attacks:  # only router attacks were asked: the pinned networks get their clean accuracy
        first = attacks[0]
        pinned_attacks = [create_attack("clean", first.threat, batch_size=first.batch_size, seed=first.seed)]
    bounds: dict[str, Any] = {"attacks": [attack.name for attack in pinned_attacks], "pinned": {}}
    merged_checks: dict[str, dict[str, str]] = {}
    for regime, value in REGIMES.items():
        folder = None if out is None else pinned_folder(out, value)
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
        results = evaluate(dynamic.pin(model, value), x, y, pinned_attacks, out=folder, **settings)
        bounds["pinned"][regime] = {
            "pin_signal": value, "clean_accuracy": results["clean_accuracy"],
            "robust_accuracy": results["robust_accuracy"], "worst_case_accuracy": results["worst_case_accuracy"],
            "seconds": results["seconds"].get("total", 0.0),
        }
        for name, result in results["checks"].items():
            if result["status"] != "pass":
                merged_checks[f"pinned r={value:g}: {name}"] = result
    routed = [details[attack.name] for attack in attacks if attack.needs_router and details.get(attack.name)]
    if routed:
        bounds["adaptive_successes_routed"] = routed[0].get("successes_routed")
    return bounds, merged_checks


def curve_point(pin_signal: float, label: str) -> dict[str, Any]:
    """The CONTRACTS curve entry of an evaluation pinned at `pin_signal`."""
    return {"kind": CURVE_KIND, "value": float(pin_signal), "label": label}


def curve_label(metadata: dict[str, Any]) -> str:
    """One label per checkpoint, the same at every r (compare joins equal labels into one line)."""
    name = metadata.get("run") or Path(str(metadata.get("checkpoint_path", "model"))).stem
    return f"{name} pinned r"

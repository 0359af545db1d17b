"""Self-checks written into every summary: {name: {"status": "pass" | "fail" | "flag", "detail": str}}.

"fail": the evaluation itself is wrong (an example outside its budget, an accuracy out of order) and its
numbers must not be quoted. "flag": a property of the model that makes the numbers need care (a dynamic or
randomised model, AutoAttack's own warnings); reported, never hidden.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import torch

from awbench.threat import Norm, ThreatModel

TOLERANCE = 1e-6  # float32 rounding of x + delta; anything above is a real violation

Check = dict[str, str]


def check(status: str, detail: str) -> Check:
    return {"status": status, "detail": detail}


def budget_stats(x: torch.Tensor, x_adv: torch.Tensor, threat: ThreatModel) -> dict[str, Any]:
    """Distance to the input (in float64) and pixel range of every adversarial example of a batch."""
    if x_adv.shape != x.shape:
        raise RuntimeError(f"attack returned shape {tuple(x_adv.shape)} for inputs {tuple(x.shape)}")
    delta = (x_adv.detach().double() - x.double()).flatten(1)
    distance = delta.abs().amax(1) if threat.norm is Norm.LINF else delta.norm(dim=1)
    flat = x_adv.detach().flatten(1)
    low, high = flat.amin(1).double(), flat.amax(1).double()
    bad = (distance > threat.eps + TOLERANCE) | (low < -TOLERANCE) | (high > 1 + TOLERANCE)
    bad |= torch.isnan(flat).any(1)
    return {
        "max_distance": float(distance.max()) if len(distance) else 0.0,
        "min_value": float(low.min()) if len(low) else 0.0,
        "max_value": float(high.max()) if len(high) else 1.0,
        "violations": int(bad.sum()),
        "count": len(x),
    }


def merge_budget(records: list[dict[str, Any]]) -> dict[str, Any]:
    merged = {"max_distance": 0.0, "min_value": 0.0, "max_value": 1.0, "violations": 0, "count": 0}
    for record in records:
        merged["max_distance"] = max(merged["max_distance"], record["max_distance"])
        merged["min_value"] = min(merged["min_value"], record["min_value"])
        merged["max_value"] = max(merged["max_value"], record["max_value"])
        merged["violations"] += record["violations"]
        merged["count"] += record["count"]
    return merged


def budget_check(stats: dict[str, Any], threat: ThreatModel) -> Check:
    detail = (f"{stats['count']} examples checked (every batch): max {threat.norm.value} distance "
              f"{stats['max_distance']:.6g} vs eps {threat.eps:.6g}, pixels in [{stats['min_value']:.6g}, "
              f"{stats['max_value']:.6g}], tolerance {TOLERANCE:g}")
    if stats["violations"]:
        return check("fail", f"{stats['violations']} examples outside the budget or [0, 1]: " + detail)
    return check("pass", detail)


def order_checks(clean: float, robust: dict[str, float], worst: float) -> dict[str, Check]:
    above = {name: value for name, value in robust.items() if value > clean + 1e-12}
    looser = {name: value for name, value in robust.items() if worst > value + 1e-12}
    return {
        "robust_le_clean": check("fail", f"robust above clean accuracy {clean:.4f}: {above}") if above
        else check("pass", f"every attack's accuracy <= clean accuracy {clean:.4f}"),
        "worst_le_each": check("fail", f"worst case {worst:.4f} above {looser}") if looser
        else check("pass", f"worst case {worst:.4f} <= every attack's accuracy"),
    }


def flags_check(messages: list[str], source: str) -> Check:
    if not messages:
        return check("pass", f"{source} raised no flag")
    counted = Counter(messages)
    text = "; ".join(f"{message} (x{count})" if count > 1 else message for message, count in counted.items())
    return check("flag", text)

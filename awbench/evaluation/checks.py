"""Self-checks written into every summary: {name: {"status": "pass" | "fail" | "flag", "detail": str}}.

"fail": the evaluation itself is wrong (an example outside its budget, verdicts that change with the batch,
an attack that cannot break anything even with a huge budget) and its numbers must not be quoted.
"flag": a property of the model that makes the numbers need care (a randomised model, bf16 attacks that
disagree with fp32, AutoAttack's own warnings); reported, never hidden. Every check here can fail or flag on
a broken evaluation; tests build one for each.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import torch

from awbench.threat import Norm, ThreatModel

TOLERANCE = 1e-6  # float32 rounding of x + delta; anything above is a real violation
BATCH_TOLERANCE = 1e-2  # relative logit difference between batch compositions (TF32/bf16 kernels move ~1e-3)
CONSISTENCY_TOLERANCE = 0.02  # fraction of the examples two attacks may disagree on before it counts
LARGE_EPS_SURVIVORS = 0.05  # fraction of examples (at least one) allowed to survive the large-eps PGD

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


def rejudge_check(mismatches: int, ties: int, count: int, randomised: bool) -> Check:
    """A second judging pass over kept adversarial examples, in other batch compositions, must agree with the
    per-sample results recorded for them (catches batch-dependent models and bookkeeping slips). `ties`:
    verdicts that changed where the true and the best wrong logit are equal within float precision of the
    kernels (an attack stops right past the boundary), not counted as mismatches."""
    detail = (f"{count} adversarial examples judged again in other batches: {mismatches} verdicts differ from "
              f"the recorded per-sample results" + (f" ({ties} more flipped at a float-precision tie)" if ties else ""))
    if not mismatches:
        return check("pass", detail)
    if randomised:
        return check("flag", detail + " (randomised model)")
    return check("fail", detail)


def clean_batches_check(changed: int, count: int, difference: float, scale: float, randomised: bool) -> Check:
    """Clean logits must not depend on which other images share the batch (a model left in train mode
    normalises with batch statistics: its outputs move with the batch). Predictions that flip while the
    logits agree within BATCH_TOLERANCE are float-precision ties, not a failure."""
    detail = (f"{count} examples passed again in batches of another composition: {changed} predictions changed, "
              f"max logit difference {difference:.3g} (largest logit {scale:.3g}, tolerance {BATCH_TOLERANCE:g} "
              "of it)")
    if difference <= BATCH_TOLERANCE * max(1.0, scale):
        return check("pass", detail)
    if randomised:
        return check("flag", detail + " (randomised model)")
    return check("fail", detail + ": batch-dependent outputs (a model in train mode?)")


def attack_consistency_check(weaker: str, stronger: str, weaker_survived: torch.Tensor,
                             stronger_survived: torch.Tensor, *, tolerance: float = CONSISTENCY_TOLERANCE) -> Check:
    """Two attacks that met the same examples: the stronger one must not leave clearly more survivors.

    Counts the samples each breaks that the other cannot (reported either way: how much `weaker` overstates
    robustness is worth knowing). More survivors under `stronger` than under `weaker`, beyond `tolerance` of
    the examples and one sample, means the stronger attack did not really attack (wrong inputs, a broken
    adapter, a wrong judge): fail."""
    count = len(weaker_survived)
    only_stronger = int((weaker_survived & ~stronger_survived).sum())
    only_weaker = int((stronger_survived & ~weaker_survived).sum())
    detail = (f"{count} examples met both: {only_stronger} broken by {stronger} only, {only_weaker} by "
              f"{weaker} only; survivors {int(weaker_survived.sum())} {weaker} vs {int(stronger_survived.sum())} "
              f"{stronger}")
    if only_weaker - only_stronger > max(1.0, tolerance * count):
        return check("fail", detail + f": {stronger} leaves more survivors than {weaker}")
    return check("pass", detail)


def accuracy_nonincreasing_in_eps(accuracies: Mapping[float, float], *, tolerance: float = 0.0) -> Check:
    """Robust accuracy over a sweep of budgets (same model, examples and attack) must not rise with eps.

    `accuracies`: {eps: accuracy as a fraction}; `tolerance`: allowed rise (fraction), e.g. one example."""
    ordered = sorted(accuracies.items())
    rises = [(low, high, a, b) for (low, a), (high, b) in zip(ordered, ordered[1:]) if b > a + tolerance + 1e-12]
    text = ", ".join(f"{eps:.4g}: {accuracy:.4f}" for eps, accuracy in ordered)
    if rises:
        where = "; ".join(f"{a:.4f} at eps {low:.4g} -> {b:.4f} at eps {high:.4g}" for low, high, a, b in rises)
        return check("fail", f"accuracy rises with eps ({where}); accuracies {text}")
    return check("pass", f"accuracy non-increasing in eps (tolerance {tolerance:g}): {text}")


def large_eps_check(survivors: int, count: int, eps: float, steps: int, randomised: bool) -> Check:
    """PGD with a huge budget must break (almost) every example; survivors mean masked gradients or an
    attack that does not reach the model, and every robust number of the evaluation would be overstated."""
    allowed = max(1, int(LARGE_EPS_SURVIVORS * count))  # one stray survivor is noise, not masking
    detail = (f"PGD-{steps} at Linf eps {eps:g} on {count} clean-correct examples: {survivors} survive "
              f"(at most {allowed} allowed)")
    if survivors <= allowed:
        return check("pass", detail)
    if randomised:
        return check("flag", detail + " (randomised model: use an EOT evaluation)")
    return check("fail", detail + ": gradients do not lead the attack (masked gradients?)")


def flags_check(messages: list[str], source: str) -> Check:
    if not messages:
        return check("pass", f"{source} raised no flag")
    counted = Counter(messages)
    text = "; ".join(f"{message} (x{count})" if count > 1 else message for message, count in counted.items())
    return check("flag", text)

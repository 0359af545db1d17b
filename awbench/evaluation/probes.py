"""Probes that test the evaluation itself, each turned into a check (awbench.evaluation.checks).

Each runs the model (and, where attacks are involved, the same attack-and-judge path as the evaluation) in a
way whose outcome is known for a sound evaluation: the same batch twice gives the same logits; other batch
compositions give the same predictions; PGD with eps = 0 gives the clean predictions; PGD with a huge
budget breaks (almost) everything; adversarial examples judged again give the recorded verdicts.
"""

from __future__ import annotations

import torch
from torch import nn

from awbench.attacks import Attack, create_attack
from awbench.attacks.pgd import PGDOptions
from awbench.evaluation import checks
from awbench.evaluation.judging import judged_attack, on_device, predict
from awbench.evaluation.precision import AMP_SLICE, AutocastModel, amp_check
from awbench.threat import Norm, ThreatModel

EPS0_SLICE = 32  # examples of the eps=0 PGD check
EPS0_STEPS = 2
LARGE_EPS = 0.5  # Linf: half the pixel range, far beyond any defended budget
LARGE_EPS_STEPS = 10
LARGE_EPS_SLICE = 32
REJUDGE_BATCH = 7  # odd and small: a composition no attack unit has


def _logits(model: nn.Module, x: torch.Tensor, batch_size: int, device: torch.device) -> torch.Tensor:
    with torch.inference_mode():
        return torch.cat([model(on_device(x[start:start + batch_size], device)).float().cpu()
                          for start in range(0, len(x), batch_size)])


def clean_pass_checks(model: nn.Module, x: torch.Tensor, first_logits: torch.Tensor, batch_size: int,
                      device: torch.device) -> dict[str, checks.Check]:
    """`deterministic`: the first batch passed again, as it was, gives the same logits (else: a randomised
    model, flagged). `batch_independent`: the same images in batches of another composition give the same
    predictions (else: batch-dependent predictions, e.g. batch norm in train mode; fails)."""
    count = len(first_logits)
    if not count:
        return {"deterministic": checks.check("pass", "no example"),
                "batch_independent": checks.check("pass", "no example")}
    first_logits = first_logits.float().cpu()
    again = _logits(model, x[:count], count, device)
    difference = float((first_logits - again).abs().max())
    scale = float(again.abs().max())
    same = bool((first_logits.argmax(1) == again.argmax(1)).all()) and difference <= 1e-4 * max(1.0, scale)
    detail = f"two clean passes over the same batch of {count} examples: max logit difference {difference:.3g}"
    deterministic = (checks.check("pass", detail) if same else
                     checks.check("flag", "randomised model? " + detail + "; use an EOT evaluation (--version rand)"))
    # Another composition: the batch's second half first, in batches of half the size.
    order = torch.cat([torch.arange(count // 2, count), torch.arange(0, count // 2)])
    regrouped = torch.empty_like(first_logits)
    regrouped[order] = _logits(model, x[:count][order], max(1, (count + 1) // 2), device)
    changed = int((regrouped.argmax(1) != first_logits.argmax(1)).sum())
    return {"deterministic": deterministic,
            "batch_independent": checks.clean_batches_check(changed, count, float((regrouped - first_logits)
                                                                                  .abs().max()), scale, not same)}


def eps0_check(attack_model: nn.Module, judge: nn.Module, x: torch.Tensor, y: torch.Tensor,
               clean_prediction: torch.Tensor, threat: ThreatModel, device: torch.device,
               randomised: bool) -> checks.Check:
    """PGD with eps = 0 (through the same attack and judging path) must reproduce the clean predictions."""
    zero = ThreatModel(threat.norm, 0.0)
    attack = create_attack("pgd", zero, PGDOptions(steps=EPS0_STEPS, step_size=0.01), batch_size=EPS0_SLICE, seed=0)
    xs, ys = on_device(x[:EPS0_SLICE], device), y[:EPS0_SLICE].to(device)
    judged = judged_attack(attack, attack_model, judge, xs, ys, reattack_seed=0)
    stats = checks.budget_stats(xs, judged.x_adv, zero)
    predicted = predict(judge, judged.x_adv, EPS0_SLICE, device)
    expected = clean_prediction[:EPS0_SLICE]
    accuracy, clean = float((predicted == ys.cpu()).float().mean()), float((expected == ys.cpu()).float().mean())
    detail = (f"{len(xs)} examples, {EPS0_STEPS} steps: accuracy {accuracy:.4f} vs clean {clean:.4f}, "
              f"{int((predicted != expected).sum())} predictions changed, max distance {stats['max_distance']:.3g}")
    # Accuracy, not every prediction: a different batch size may flip a tie at float precision.
    if accuracy == clean and stats["violations"] == 0:
        return checks.check("pass", detail)
    if randomised and stats["violations"] == 0:  # a randomised model disagrees with itself anyway
        return checks.check("flag", detail + " (randomised model)")
    return checks.check("fail", detail)


def large_eps_check(attack_model: nn.Module, judge: nn.Module, x: torch.Tensor, y: torch.Tensor,
                    device: torch.device, seed: int, randomised: bool) -> checks.Check:
    """PGD at Linf eps 0.5 on a slice of clean-correct examples (`x`, `y`) must break nearly all of them."""
    x, y = x[:LARGE_EPS_SLICE], y[:LARGE_EPS_SLICE]
    if not len(y):
        return checks.check("pass", "no clean-correct example to attack with a large budget")
    attack = create_attack("pgd", ThreatModel(Norm.LINF, LARGE_EPS), PGDOptions(steps=LARGE_EPS_STEPS),
                           batch_size=len(y), seed=seed)
    torch.manual_seed(seed)
    judged = judged_attack(attack, attack_model, judge, on_device(x, device), y.to(device), reattack_seed=seed + 1)
    return checks.large_eps_check(int(judged.survived.sum()), len(y), LARGE_EPS, LARGE_EPS_STEPS, randomised)


def rejudge_check(judge: nn.Module, audit_x: torch.Tensor, audit_y: torch.Tensor, recorded: torch.Tensor,
                  device: torch.device, randomised: bool) -> checks.Check:
    """Adversarial examples kept from the units this process ran (`audit_x`, labels `audit_y`), judged again
    in batches of REJUDGE_BATCH (other compositions than the attack's), against the per-sample results
    recorded for them (`recorded`, bool)."""
    if not len(recorded):
        return checks.check("pass", "no adversarial example kept to judge again (every unit was resumed)")
    logits = _logits(judge, audit_x, REJUDGE_BATCH, device)
    labels = audit_y.cpu()
    true = logits.gather(1, labels[:, None]).squeeze(1)
    wrong = logits.scatter(1, labels[:, None], float("-inf")).amax(1)
    changed = (true > wrong) != recorded.cpu()
    tie = (true - wrong).abs() <= checks.BATCH_TOLERANCE * logits.abs().amax(1).clamp_min(1.0)
    return checks.rejudge_check(int((changed & ~tie).sum()), int((changed & tie).sum()), len(recorded), randomised)


def model_checks(model: nn.Module, x: torch.Tensor, y: torch.Tensor, clean_prediction: torch.Tensor,
                 first_logits: torch.Tensor, attacks: list[Attack], *, device: torch.device,
                 amp: bool) -> tuple[dict[str, checks.Check], nn.Module, bool]:
    """Every probe of the model before the attacks run. Returns (checks, the model the attacks differentiate:
    a bf16 copy under `amp`, whether the model is randomised)."""
    threat, batch_size, seed = attacks[0].threat, attacks[0].batch_size, attacks[0].seed
    found = clean_pass_checks(model, x, first_logits, batch_size, device)
    randomised = found["deterministic"]["status"] != "pass"
    judge = attack_model = model  # the model under test, in fp32, judges every attack
    correct = torch.nonzero(clean_prediction == y).flatten()
    if amp:  # attacks differentiate under bf16 autocast from here on, once the check has compared it with fp32
        attack_model = AutocastModel(model, device.type)
        pgd_options = next((attack.options for attack in attacks if isinstance(attack.options, PGDOptions)), None)
        found["amp_matches_fp32"] = amp_check(model, attack_model, x[correct[:AMP_SLICE]], y[correct[:AMP_SLICE]],
                                              threat, pgd_options, device, seed)
    found["eps0_pgd_equals_clean"] = eps0_check(attack_model, judge, x, y, clean_prediction, threat, device,
                                                randomised)
    sliced = correct[:LARGE_EPS_SLICE]
    found["large_eps_breaks_all"] = large_eps_check(attack_model, judge, x[sliced], y[sliced], device, seed,
                                                    randomised)
    return found, attack_model, randomised

import torch
from torch import nn

from awbench import checkpoint
from awbench.attacks import build_attacks
from awbench.evaluation import evaluate_checkpoint
from awbench.evaluation.precision import AutocastModel
from awbench.evaluation.runner import evaluate_model
from awbench.threat import Norm, ThreatModel


def test_autocast_model_runs_in_bf16_and_returns_fp32(standard_model):
    x = torch.rand(4, 3, 32, 32)
    wrapped = AutocastModel(standard_model, "cpu")
    logits = wrapped(x)
    assert logits.dtype == torch.float32
    reference = standard_model(x)
    assert not torch.equal(logits, reference)  # bf16 rounding shows
    assert torch.allclose(logits, reference, atol=0.1 * reference.abs().max().item())


def test_amp_evaluation_reports_the_fp32_comparison(standard_run, data_dir, tmp_path):
    torch.set_num_threads(1)
    summary = evaluate_checkpoint(standard_run / "checkpoint.pt", attacks=["pgd"], n_examples=60, batch_size=32,
                                  data_dir=data_dir, device="cpu", out=tmp_path, show_progress=False, steps=3,
                                  amp=True)
    check = summary["checks"]["amp_matches_fp32"]
    assert summary["amp"] is True
    assert check["status"] in ("pass", "flag") and "fp32" in check["detail"] and "bf16" in check["detail"]
    plain = evaluate_checkpoint(standard_run / "checkpoint.pt", attacks=["pgd"], n_examples=60, batch_size=32,
                                data_dir=data_dir, device="cpu", out=tmp_path / "fp32", show_progress=False, steps=3)
    assert "amp_matches_fp32" not in plain["checks"] and plain["amp"] is False


class _RolledUnderAutocast(nn.Module):
    """Predicts differently under autocast (logits rolled by one class): shows which model judges what."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.model(x)
        return logits.roll(1, dims=1) if torch.is_autocast_enabled("cpu") else logits


def _evaluate_with_amp(model, x, y):
    attacks = build_attacks(["clean", "pgd"], ThreatModel(Norm.LINF, 8 / 255), {"steps": 2}, batch_size=32, seed=0)
    return evaluate_model(model, x, y, attacks, device=torch.device("cpu"), show_progress=False, amp=True)


def test_with_amp_the_fp32_model_judges_clean_and_adversarial_examples(cifar_test):
    torch.set_num_threads(1)
    model, _ = checkpoint.load("zoo:cifar10-small-cnn-standard")
    x, y = cifar_test.select(torch.arange(0, 500, 12)).as_float()  # 42 images, every class
    results = _evaluate_with_amp(_RolledUnderAutocast(model).eval(), x, y)
    assert results["clean_accuracy"] > 0.2
    assert results["robust_accuracy"]["clean"] == results["clean_accuracy"]  # not the rolled (bf16) predictions
    assert results["checks"]["eps0_pgd_equals_clean"]["status"] == "pass"


def test_amp_check_with_no_clean_correct_example_passes_instead_of_nan(standard_model, cifar_test):
    x, _ = cifar_test.select(torch.arange(0, 500, 25)).as_float()
    with torch.no_grad():
        wrong = (standard_model(x).argmax(1) + 1) % 10
    results = _evaluate_with_amp(standard_model, x, wrong)
    assert results["clean_accuracy"] == 0.0
    check = results["checks"]["amp_matches_fp32"]
    assert check["status"] == "pass" and "nan" not in check["detail"]


def _evaluate(model, x, y, *, amp, names=("pgd", "autoattack")):
    threat = ThreatModel(Norm.LINF, 8 / 255)
    options = {"steps": 5, "version": "custom", "aa_attacks": ["apgd-ce"], "aa_iterations": 5}
    attacks = build_attacks(list(names), threat, options, batch_size=32, seed=0)
    return evaluate_model(model, x, y, attacks, device=torch.device("cpu"), show_progress=False, amp=amp)


def test_what_bf16_calls_fooled_is_attacked_again_unless_fp32_agrees(cifar_test):
    """Under autocast this model's predictions are rolled, so bf16 calls every sample fooled at once: PGD's early
    stop and AutoAttack's robust flags would stop attacking, and the fp32 judge would count them all robust."""
    torch.set_num_threads(1)
    model, _ = checkpoint.load("zoo:cifar10-small-cnn-standard")
    x, y = cifar_test.select(torch.linspace(0, len(cifar_test) - 1, 40).long()).as_float()
    fp32 = _evaluate(model, x, y, amp=False)
    amp = _evaluate(_RolledUnderAutocast(model).eval(), x, y, amp=True)
    assert amp["clean_accuracy"] == fp32["clean_accuracy"] > 0.2
    for name in ("pgd", "autoattack"):
        assert fp32["robust_accuracy"][name] < 0.5 * fp32["clean_accuracy"]  # a weak model: most samples break
        assert amp["robust_accuracy"][name] <= fp32["robust_accuracy"][name] + 0.05, name
        assert amp["details"][name]["reattacked_in_fp32"] > 0
    assert amp["checks"]["amp_matches_fp32"]["status"] != "fail"


class _GradientlessUnderAutocast(nn.Module):
    """Right predictions under autocast, but no gradient through the input: a bf16 attack gets nowhere."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_autocast_enabled("cpu"):
            return self.model(x.detach()) + 0 * x.flatten(1)[:, :1]
        return self.model(x)


def test_amp_check_fails_and_counts_when_bf16_overstates_robustness(cifar_test):
    torch.set_num_threads(1)
    model, _ = checkpoint.load("zoo:cifar10-small-cnn-standard")
    x, y = cifar_test.select(torch.linspace(0, len(cifar_test) - 1, 40).long()).as_float()
    results = _evaluate(_GradientlessUnderAutocast(model).eval(), x, y, amp=True, names=("pgd",))
    check = results["checks"]["amp_matches_fp32"]
    assert check["status"] == "fail"
    assert "per-sample results differ" in check["detail"] and "survive only bf16" in check["detail"]

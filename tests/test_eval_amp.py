import torch

from awbench.evaluation import evaluate_checkpoint
from awbench.evaluation.precision import AutocastModel


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

"""On CUDA the evaluation runs model and inputs channels_last; the libraries it hands inputs to must cope.

A CPU has no such default, so these tests force channels_last through the same path: the evaluation's
`_on_device` (every unit's inputs) and the loaded model.
"""

from __future__ import annotations

import pytest
import torch

from awbench import checkpoint
from awbench.evaluation import evaluate_checkpoint, runner, units

ZOO = "zoo:cifar10-small-cnn-pgd-at"


@pytest.fixture
def channels_last_everywhere(monkeypatch):
    to_device, load = runner.on_device, checkpoint.load
    seen = []

    def on_device(x, device):
        x = to_device(x, device)
        x = x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x
        seen.append(x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous())
        return x

    def load_channels_last(*args, **kwargs):
        model, metadata = load(*args, **kwargs)
        return model.to(memory_format=torch.channels_last), metadata

    monkeypatch.setattr(runner, "on_device", on_device)  # the clean pass
    monkeypatch.setattr(units, "on_device", on_device)  # the attacks
    monkeypatch.setattr(checkpoint, "load", load_channels_last)
    torch.set_num_threads(1)
    return seen


def test_autoattack_runs_on_channels_last_inputs(channels_last_everywhere, data_dir, tmp_path):
    summary = evaluate_checkpoint(ZOO, attacks=["autoattack"], n_examples=16, batch_size=8, data_dir=data_dir,
                                  device="cpu", out=tmp_path, show_progress=False, version="custom",
                                  aa_attacks=["apgd-ce", "apgd-t"], aa_iterations=3)
    assert any(channels_last_everywhere)  # the inputs really were channels_last
    assert 0 <= summary["robust_accuracy"]["autoattack"] <= summary["clean_accuracy"]
    assert summary["checks"]["budget:autoattack"]["status"] == "pass"


def test_foolbox_cw_l2_runs_on_channels_last_inputs(channels_last_everywhere, data_dir, tmp_path):
    summary = evaluate_checkpoint(ZOO, attacks=["cw-l2"], norm="L2", eps=0.5, n_examples=10, batch_size=8,
                                  data_dir=data_dir, device="cpu", out=tmp_path, show_progress=False,
                                  cw_l2_steps=5, cw_l2_binary_search_steps=2)
    assert any(channels_last_everywhere)
    assert summary["checks"]["budget:cw-l2"]["status"] == "pass"

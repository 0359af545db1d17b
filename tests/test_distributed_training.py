"""DDP training on CPU with gloo: 2 processes spawned from the test, bounded in time."""

import socket
import time

import ddp_worker
import pytest
import torch
import torch.multiprocessing as mp

from awbench.training import TrainConfig, train


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(out, data_dir, **overrides):
    values = dict(model="test-linear", method="standard", epochs=1, subset=64, batch_size=32, val_size=0,
                  lr=0.1, data_dir=str(data_dir), out=str(out), name="run", device="cpu", seed=3)
    values.update(overrides)
    return TrainConfig(**values)


@pytest.mark.parametrize("method,batch_size", [("standard", 32), ("standard", 31), ("pgd-at", 32), ("trades", 32)])
def test_two_process_ddp_equals_single_process(tmp_path, data_dir, method, batch_size):
    """batch 31: global batches of 31, 31 and 2 images; 31 splits 16 + 15 over the two ranks."""
    overrides = {"method": method, "steps": 2, "batch_size": batch_size}
    single = train(_config(tmp_path / "single", data_dir, **overrides), show_progress=False)
    logs = tmp_path / "logs"
    logs.mkdir()
    config = _config(tmp_path / "ddp", data_dir, **overrides).to_dict()
    context = mp.start_processes(ddp_worker.train_worker, args=(2, _free_port(), config, str(logs)), nprocs=2,
                                 join=False, start_method="spawn")
    deadline = time.monotonic() + 180
    while not context.join(timeout=5):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail("2-process DDP training did not finish within 180 s")
    a = torch.load(single / "checkpoint.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "ddp" / "run" / "checkpoint.pt", weights_only=True)["state_dict"]
    for key in a:
        if method == "standard":
            torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6)
        else:  # random starts are drawn per rank: same distribution, different draws
            assert a[key].shape == b[key].shape and not torch.isnan(b[key]).any()
    assert (logs / "writes-rank1.txt").read_text() == ""  # only rank 0 writes files
    assert "checkpoint.pt" in (logs / "writes-rank0.txt").read_text()

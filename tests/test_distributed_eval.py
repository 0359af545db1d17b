"""Sharded evaluation on CPU with gloo: 2 processes spawned from the test, bounded in time."""

import json
import socket
import time

import ddp_worker
import pandas as pd
import pytest
import torch
import torch.multiprocessing as mp

from awbench.evaluation import evaluate_checkpoint

TIMING_KEYS = {"seconds", "out", "device"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spawn(function, args, nprocs=2, limit=180):
    context = mp.start_processes(function, args=args, nprocs=nprocs, join=False, start_method="spawn")
    deadline = time.monotonic() + limit
    while not context.join(timeout=5):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail(f"{nprocs}-process run did not finish within {limit} s")


def test_sharded_evaluation_equals_single_process(tmp_path, standard_run, data_dir, monkeypatch):
    kwargs = dict(checkpoint=str(standard_run / "checkpoint.pt"), attacks=["fgsm", "pgd"], n_examples=100,
                  batch_size=4, data_dir=str(data_dir), seed=1, device="cpu", show_progress=False, steps=3)
    torch.set_num_threads(1)  # the same float reduction order as the 1-thread workers
    single = evaluate_checkpoint(**kwargs, out=str(tmp_path / "single"))
    logs = tmp_path / "logs"
    logs.mkdir()
    _spawn(ddp_worker.eval_worker, (2, _free_port(), {**kwargs, "out": str(tmp_path / "sharded")}, str(logs)))
    sharded = json.loads((tmp_path / "sharded" / "summary.json").read_text())
    single = json.loads(json.dumps(single))
    for key in set(single) | set(sharded):
        if key not in TIMING_KEYS:
            assert sharded.get(key) == single.get(key), key
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "sharded" / "per_sample.csv"),
                                  pd.read_csv(tmp_path / "single" / "per_sample.csv"))
    assert single["details"]["pgd"]["attacked"] > 8  # at least 3 units, so both ranks had work
    assert (logs / "writes-rank1.txt").read_text() == ""  # only rank 0 writes files
    assert "summary.json" in (logs / "writes-rank0.txt").read_text()

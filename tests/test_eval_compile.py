"""`--compile`: the evaluation runs through torch.compile and gives the same numbers as the eager model.

The "aot_eager" backend traces the model exactly as inductor would (dynamo + AOT autograd) without generating
C++ code, which would take about a minute per graph on a CPU.
"""

import pandas as pd
import torch
import torch._dynamo

from awbench.evaluation import evaluate_checkpoint

SETTINGS = {"attacks": ["fgsm", "pgd"], "n_examples": 40, "batch_size": 16, "device": "cpu", "steps": 3,
            "show_progress": False}


def test_compiled_evaluation_of_an_aw_net_matches_eager(data_dir, tmp_path):
    torch.set_num_threads(1)
    eager = evaluate_checkpoint("zoo:cifar10-aw-small-cnn-awnet", data_dir=data_dir, out=tmp_path / "eager",
                                **SETTINGS)
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    compiled = evaluate_checkpoint("zoo:cifar10-aw-small-cnn-awnet", data_dir=data_dir, out=tmp_path / "compiled",
                                   compile="aot_eager", **SETTINGS)
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] > 0  # the model really ran compiled
    assert compiled["compiled"] is True and eager["compiled"] is False
    assert compiled["attacks"] == eager["attacks"] == ["fgsm", "pgd", "adaptive"]  # still seen as dynamic
    assert 0 < compiled["clean_accuracy"] == eager["clean_accuracy"]
    assert compiled["robust_accuracy"] == eager["robust_accuracy"]
    assert compiled["worst_case_accuracy"] == eager["worst_case_accuracy"]
    frames = [pd.read_csv(tmp_path / name / "per_sample.csv") for name in ("eager", "compiled")]
    pd.testing.assert_frame_equal(*frames)
    assert all(check["status"] != "fail" for check in compiled["checks"].values())

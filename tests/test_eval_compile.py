"""`--compile`: the evaluation runs through torch.compile and gives the same numbers as the eager model.

Inductor would spend about a minute per graph generating C++ on a CPU, so the tests use lighter backends:
"eager" (dynamo's tracing, guards and recompilations, as inductor gets them) for a whole evaluation, and
"aot_eager" (dynamo + AOT autograd, inductor's input) for an AW-Net's forward and input gradient.
"""

import pandas as pd
import torch
import torch._dynamo

import model_zoo
from awbench.device import compile_model
from awbench.evaluation import evaluate_checkpoint

SETTINGS = {"attacks": ["pgd", "autoattack"], "n_examples": 24, "batch_size": 16, "device": "cpu",
            "steps": 3, "show_progress": False, "amp": True, "version": "custom", "aa_attacks": ["apgd-ce"],
            "aa_iterations": 3}


def test_compiled_evaluation_of_an_aw_net_matches_eager(data_dir, tmp_path, caplog):
    """With and without autograd, autocast, batches of 1 to 16: more graphs than torch's default limit of 8,
    past which the model would silently run uncompiled."""
    torch.set_num_threads(1)
    eager = evaluate_checkpoint("zoo:cifar10-aw-small-cnn-awnet", data_dir=data_dir, out=tmp_path / "eager",
                                **SETTINGS)
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    compiled = evaluate_checkpoint("zoo:cifar10-aw-small-cnn-awnet", data_dir=data_dir, out=tmp_path / "compiled",
                                   compile="eager", **SETTINGS)
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] > 8  # the model really ran compiled
    assert "recompile_limit" not in caplog.text  # ... every time
    assert compiled["compiled"] is True and eager["compiled"] is False
    assert compiled["attacks"] == eager["attacks"] == ["pgd", "autoattack", "adaptive"]  # still seen as dynamic
    assert 0 < compiled["clean_accuracy"] == eager["clean_accuracy"]
    assert compiled["robust_accuracy"] == eager["robust_accuracy"]
    assert compiled["worst_case_accuracy"] == eager["worst_case_accuracy"]
    frames = [pd.read_csv(tmp_path / name / "per_sample.csv") for name in ("eager", "compiled")]
    pd.testing.assert_frame_equal(*frames)
    assert all(check["status"] != "fail" for check in compiled["checks"].values())


def test_aot_autograd_traces_an_aw_net_with_the_same_logits_and_input_gradients():
    torch.manual_seed(0)
    model = model_zoo.create("aw-small-cnn").eval()
    compiled = compile_model(model, "aot_eager", dynamic=True)
    for n in (5, 3):  # one shape-generic graph serves both sizes
        x = torch.rand(n, 3, 32, 32, requires_grad=True)
        logits = compiled(x)
        (gradient,) = torch.autograd.grad(logits.sum(), x)
        x_eager = x.detach().requires_grad_()
        reference = model(x_eager)
        (reference_gradient,) = torch.autograd.grad(reference.sum(), x_eager)
        torch.testing.assert_close(logits, reference)
        torch.testing.assert_close(gradient, reference_gradient)

"""Checks for models awbench did not write: what comes out of them must be one tensor of logits [N, classes].

Run on a few clean test images before any attack. A tuple/dict output or a wrong shape cannot be evaluated
and raises (one line, naming the wrapper to write); probabilities instead of logits and a forward pass that
switches the model back to training mode are flagged in summary.json. Non-determinism (two clean passes
differ) is the evaluation's own `deterministic` check, which runs for every model.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from awbench.errors import AwbenchError

PROBE_SIZE = 16
_TOLERANCE = 1e-3


def check(status: str, detail: str) -> dict[str, str]:
    return {"status": status, "detail": detail}


def output_checks(model: nn.Module, x: torch.Tensor, metadata: dict[str, Any],
                  device: torch.device | str) -> dict[str, dict[str, str]]:
    """The foreign-model checks of `metadata["foreign_checks"]` plus those on the outputs for `x[:16]`.

    An awbench checkpoint (no "foreign_checks") gets none: its architecture is awbench's own.
    """
    if "foreign_checks" not in metadata:
        return {}
    results = dict(metadata["foreign_checks"])
    reference = metadata["checkpoint_path"]
    probe = x[:PROBE_SIZE].to(device)
    try:
        with torch.inference_mode():
            output = model(probe)
    except Exception as error:  # noqa: BLE001  (a model that does not fit the images fails in many ways)
        detail = " ".join(str(error).split())[:200]
        raise AwbenchError(f"{reference} cannot take the {metadata.get('dataset') or 'test'} images: a batch of "
                           f"shape {list(probe.shape)} (N, channels, height, width) made its forward pass fail "
                           f"({type(error).__name__}: {detail})") from None
    _refuse_non_tensor(output, reference)
    expected = (len(x[:PROBE_SIZE]), int(metadata["num_classes"]))
    if tuple(output.shape) != expected:
        raise AwbenchError(f"{reference} returned outputs of shape {list(output.shape)}; awbench needs logits of "
                           f"shape [N, classes] = {list(expected)} (give --num-classes if the count differs)")
    results["outputs_are_logits"] = logits_check(output.float())
    if model.training:
        results["eval_mode"] = check("fail", "the model's forward pass put it back in training mode (it calls "
                                             "train() itself); BatchNorm/Dropout then change every prediction")
    return results


def logits_check(output: torch.Tensor) -> dict[str, str]:
    """Flag outputs that look like softmax probabilities or log-probabilities: the attacks' losses need logits."""
    ones = torch.ones(output.shape[0], device=output.device, dtype=output.dtype)  # the model's device (CUDA)
    if bool((output >= -_TOLERANCE).all()) and torch.allclose(output.sum(1), ones, atol=_TOLERANCE):
        return check("flag", "the outputs look like softmax probabilities (non-negative, each row sums to 1); "
                             "the attacks need logits, so robust accuracy may be overstated: remove the final "
                             "softmax")
    if bool((output <= _TOLERANCE).all()) and torch.allclose(output.exp().sum(1), ones, atol=_TOLERANCE):
        return check("flag", "the outputs look like log-softmax (each row's exp sums to 1); CE and logit margins "
                             "are unchanged by a log-softmax, but check that the model does not apply a softmax "
                             "before it, and return the logits")
    return check("pass", f"outputs look like logits (rows do not sum to 1, range {float(output.min()):.3g}.."
                         f"{float(output.max()):.3g})")


def _refuse_non_tensor(output: Any, reference: str) -> None:
    if isinstance(output, torch.Tensor):
        return
    if isinstance(output, dict):
        keys = ", ".join(repr(key) for key in list(output)[:5])
        pick = f'self.model(x)["{next(iter(output), "logits")}"]'
        kind = f"a dict (keys {keys})"
    elif isinstance(output, (tuple, list)):
        pick, kind = "self.model(x)[0]", f"a {type(output).__name__} of {len(output)}"
    else:
        pick, kind = "...", f"a {type(output).__name__}"
    raise AwbenchError(f"{reference} returned {kind}; awbench needs one tensor of logits [N, classes]: wrap it, "
                       f"e.g. class Logits(nn.Module) whose forward(x) returns {pick}, and build that")

"""AWNet: a static backbone with AW layers, plus the router that drives them; and how to find one in a model."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from model_zoo.aw.conv import AWConv2d
from model_zoo.aw.lowrank import LowRankAWConv2d
from model_zoo.aw.mixbn import MixBN
from model_zoo.aw.router import Router

PIN_MODES = ("clean", "adversarial")  # names of the two ends of the signal range: 0.0 and 1.0
PIN_VALUES = {"clean": 0.0, "adversarial": 1.0}
AW_CONVS = (AWConv2d, LowRankAWConv2d)
AWLayer = AWConv2d | LowRankAWConv2d | MixBN


def aw_layers(backbone: nn.Module) -> Iterator[tuple[str, AWLayer]]:
    """(name, layer) of every AW conv and MixBN in `backbone`, in module order (names relative to it)."""
    for name, module in backbone.named_modules():
        if isinstance(module, (*AW_CONVS, MixBN)):
            yield name, module


def pin_value(mode: str | float) -> float:
    """The constant signal of a pin: "clean" -> 0.0, "adversarial" -> 1.0, a number in [0, 1] -> itself."""
    if isinstance(mode, str):
        if mode not in PIN_VALUES:
            raise ValueError(f"pinned mode must be one of {PIN_MODES} or a number in [0, 1], not {mode!r}")
        return PIN_VALUES[mode]
    if isinstance(mode, bool) or not isinstance(mode, (int, float)):
        raise ValueError(f"pinned mode must be one of {PIN_MODES} or a number in [0, 1], not {mode!r}")
    value = float(mode)
    if not 0.0 <= value <= 1.0:  # also refuses NaN
        raise ValueError(f"pinned signal must lie in [0, 1], got {mode!r}")
    return value


def _channels(layer: AWLayer) -> int:
    return layer.num_features if isinstance(layer, MixBN) else layer.out_channels


class AWNet(nn.Module):
    """Router + backbone. One forward: the router reads x, every AW layer gets its signal, the backbone runs.

    After each forward, `last_detection_logit` ([N], not detached) and `last_signals` ({layer: [N, C]}) hold
    that forward's router outputs; they keep the router's (small) graph alive until the next forward.
    """

    def __init__(self, backbone: nn.Module, in_channels: int = 3, router_width: int = 16, embedding_dim: int = 64,
                 router_input: str = "residual", router_shortcut: bool = True):
        super().__init__()
        layers = dict(aw_layers(backbone))
        if not layers:
            raise ValueError("AWNet needs a backbone with AW layers; convert it with model_zoo.aw.convert first")
        self.backbone = backbone
        self.router = Router(in_channels, {name: _channels(layer) for name, layer in layers.items()},
                             width=router_width, embedding_dim=embedding_dim, input=router_input,
                             shortcut=router_shortcut)
        self.last_detection_logit: torch.Tensor | None = None
        self.last_signals: dict[str, torch.Tensor] = {}
        self._pinned_mode: str | float | None = None
        self._batch_split: int | None = None

    @contextmanager
    def pinned(self, mode: str | float) -> Iterator[AWNet]:
        """Inside, every regulation signal is the constant r: "clean" (0), "adversarial" (1) or any r in [0, 1].

        Every AW layer then uses the fixed blend (1 - r) * clean + r * adversarial, so the network is static;
        the detection head is still computed (last_detection_logit stays valid, and differentiable).
        Contexts nest; the previous pin is restored on exit.
        """
        pin_value(mode)  # refuse a bad mode before entering
        previous, self._pinned_mode = self._pinned_mode, mode
        try:
            yield self
        finally:
            self._pinned_mode = previous

    @contextmanager
    def split_batch(self, n_clean: int) -> Iterator[AWNet]:
        """Inside, a training-mode forward treats its batch as [n_clean clean; rest adversarial] in MixBN."""
        if n_clean < 0:
            raise ValueError(f"n_clean must be >= 0, got {n_clean}")
        previous, self._batch_split = self._batch_split, int(n_clean)
        try:
            yield self
        finally:
            self._batch_split = previous

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        signals, detection_logit = self.router(x)
        if self._pinned_mode is not None:
            value = pin_value(self._pinned_mode)
            signals = {name: torch.full_like(signal, value) for name, signal in signals.items()}
        self.last_detection_logit, self.last_signals = detection_logit, signals
        layers = list(aw_layers(self.backbone))
        for name, layer in layers:
            layer.signal = signals[name]
            if isinstance(layer, MixBN):
                layer.batch_split = self._batch_split
        try:
            return self.backbone(x)
        finally:  # no stale signal (or graph) is left on a layer between forwards
            for _, layer in layers:
                layer.signal = None
                if isinstance(layer, MixBN):
                    layer.batch_split = None

    def __getstate__(self) -> dict[str, Any]:
        """Drop the last forward's tensors (non-leaf, so deepcopy/pickle would refuse them)."""
        state = self.__dict__.copy()
        state["last_detection_logit"], state["last_signals"] = None, {}
        return state


def routing(model: nn.Module) -> AWNet | None:
    """The AWNet inside `model` (e.g. Sequential(normalize, net=AWNet), or a DDP/compiled wrapper), else None."""
    for module in model.modules():
        if isinstance(module, AWNet):
            return module
    return None


def is_dynamic(model: nn.Module) -> bool:
    """Whether `model` contains an AWNet (a sample-wise dynamic network)."""
    return routing(model) is not None

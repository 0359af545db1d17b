"""How a row looks in every compare figure: colour by model family, marker by training method.

Shared by the Pareto plot and the robustness-vs-eps plot so that one model reads the same in both, and
kept readable with 10+ runs: colours come from a fixed cycle in the order families first appear (sorted),
markers from a fixed map for the usual methods and a cycle for the others.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from matplotlib.lines import Line2D

COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:olive",
           "tab:cyan", "0.35")
METHOD_MARKERS = {"standard": "o", "pgd-at": "s", "trades": "^", "mart": "v", "awnet": "*", "interpolation": "D"}
OTHER_MARKERS = ("P", "X", "h", "p", "<", ">", "d", "H")
UNKNOWN = "?"
FAILED_COLOUR = "0.55"
RING_SIZE = 300
POINT_SIZE = 55


def family(model: object) -> str:
    """The model family a colour stands for: the architecture name (AW-Nets are their own family)."""
    return model if isinstance(model, str) and model else UNKNOWN


def method_of(method: object) -> str:
    return method if isinstance(method, str) and method else UNKNOWN


class Palette:
    """Colours of the families and markers of the methods found in `frame`."""

    def __init__(self, frame: pd.DataFrame):
        families = sorted({family(model) for model in frame["model"]})
        self.colours = {name: COLOURS[i % len(COLOURS)] for i, name in enumerate(families)}
        others = iter(OTHER_MARKERS * 4)
        self.markers = {}
        for name in sorted({method_of(method) for method in frame["method"]}):
            self.markers[name] = METHOD_MARKERS.get(name) or next(others, "o")

    def colour(self, model: object) -> str:
        return self.colours[family(model)]

    def marker(self, method: object) -> str:
        return self.markers[method_of(method)]

    def marker_size(self, method: object) -> float:
        return POINT_SIZE * (2.4 if self.marker(method) == "*" else 1.0)

    def legend_handles(self, families: Iterable[str], methods: Iterable[str]) -> list[Line2D]:
        """One handle per family shown (its colour) and per method shown (its marker, in grey)."""
        handles = [Line2D([], [], linestyle="none", marker="s", markersize=8, color=self.colours[name],
                          label=f"model: {name}") for name in sorted(set(families))]
        handles += [Line2D([], [], linestyle="none", marker=self.markers[name], markersize=8, color="0.3",
                           label=f"method: {name}") for name in sorted(set(methods))]
        return handles

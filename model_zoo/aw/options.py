"""The options an AW-Net is built with: which design, and how its router sees the image and sets the signals.

Every option is recorded in a checkpoint's metadata (`model_options`, the resolved values, defaults included)
and the model is rebuilt from it on load, so a checkpoint never depends on today's defaults.

    design                      "full": two full filter banks per conv (AWConv2d; the paper's design, `aw-*`);
                                "low-rank": adversarial bank = clean bank + a low-rank correction
                                (LowRankAWConv2d, `aw-lr-*`). Set by the architecture's name, not by the user.
    adversarial_rank_fraction   low-rank only: rank = ceil(fraction * filters), fraction in (0, 1].
    router_input                "residual" (x - blur3x3(x)), "raw" (the image) or "both" (both, stacked as channels).
    router_shortcut             True: each signal head adds the detection logit (signals follow the detector);
                                False: the signal heads are independent of the detection head.
    router_width                channels of the router's first conv (then 2x, 4x).
    embedding_dim               size of the router's shared embedding.

Checkpoints written before the options existed (metadata without `model_options`) name `aw-<backbone>` for
either design; `migrate_metadata` tells the design from the weights' names and rebuilds them with the options
they were trained with (LEGACY_OPTIONS).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from model_zoo.aw.convert import DEFAULT_ADVERSARIAL_RANK_FRACTION
from model_zoo.aw.router import ROUTER_INPUTS
from model_zoo.designs import DESIGNS, FULL_PREFIX, LOW_RANK_PREFIX, design_of
from model_zoo.errors import ModelZooError, UnknownNameError


@dataclass(frozen=True)
class AWOptions:
    design: str = "full"
    adversarial_rank_fraction: float | None = None
    router_input: str = "residual"
    router_shortcut: bool = True
    router_width: int = 16
    embedding_dim: int = 64

    def __post_init__(self) -> None:
        if self.design not in DESIGNS:
            raise UnknownNameError("AW-Net design", self.design, DESIGNS)
        if self.router_input not in ROUTER_INPUTS:
            raise UnknownNameError("router input", str(self.router_input), ROUTER_INPUTS)
        if not isinstance(self.router_shortcut, bool):
            raise ModelZooError(f"router_shortcut must be true or false, not {self.router_shortcut!r}")
        for name in ("router_width", "embedding_dim"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ModelZooError(f"{name} must be a positive integer, not {value!r}")
        fraction = self.adversarial_rank_fraction
        if self.design == "full" and fraction is not None:
            raise ModelZooError("the full two-bank design takes no adversarial rank fraction: use an aw-lr-* model")
        if self.design == "low-rank":
            if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction <= 1:
                raise ModelZooError(f"the low-rank fraction must lie in (0, 1], not {fraction!r}")
            object.__setattr__(self, "adversarial_rank_fraction", float(fraction))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


USER_OPTIONS = tuple(f.name for f in fields(AWOptions) if f.name != "design")
# What every AW-Net checkpoint written before options existed was built with (then the only router).
LEGACY_OPTIONS = {"router_input": "residual", "router_shortcut": True, "router_width": 16, "embedding_dim": 64}


def resolve(design: str, options: Mapping[str, Any] | None = None) -> AWOptions:
    """AWOptions for `design` from user options (names checked; defaults filled in; values validated)."""
    options = dict(options or {})
    recorded = options.pop("design", design)  # resolved options (checkpoint metadata) name their design
    if recorded != design:
        raise ModelZooError(f"options of the {recorded} design given to a {design} AW-Net architecture")
    unknown = [name for name in options if name not in USER_OPTIONS]
    if unknown:
        raise UnknownNameError("AW-Net option", unknown[0], USER_OPTIONS)
    if design == "low-rank" and options.get("adversarial_rank_fraction") is None:
        options["adversarial_rank_fraction"] = DEFAULT_ADVERSARIAL_RANK_FRACTION
    return AWOptions(design=design, **options)


def describe_design(architecture: str) -> str:
    """A few words for listings: what the architecture's filters are."""
    design = design_of(architecture)
    if design == "full":
        return "AW-Net, full two-bank (dynamic)"
    if design == "low-rank":
        return "AW-Net, low-rank adversarial bank (dynamic)"
    return "static"


def migrate_metadata(metadata: dict[str, Any], state_dict: Mapping[str, Any]) -> dict[str, Any]:
    """Metadata of a pre-options AW-Net checkpoint, rewritten to name its design and options; others unchanged.

    Such checkpoints name `aw-<backbone>` whichever design they hold: a low-rank one is told by its
    `adversarial_mix` weights (LowRankAWConv2d), and its fraction was the then-default 1/4.
    """
    architecture = str(metadata.get("architecture", ""))
    if "model_options" in metadata or design_of(architecture) != "full":
        return metadata
    migrated = dict(metadata)
    if any(key.endswith("adversarial_mix") for key in state_dict):
        migrated["architecture"] = LOW_RANK_PREFIX + architecture[len(FULL_PREFIX):]
        migrated["model_options"] = {**LEGACY_OPTIONS, "adversarial_rank_fraction": DEFAULT_ADVERSARIAL_RANK_FRACTION}
    else:
        migrated["model_options"] = dict(LEGACY_OPTIONS)
    migrated["migrated_from"] = architecture
    return migrated

"""Which architectures are sample-wise dynamic (AW-Net), by name: the one answer, importable without torch.

An AW-Net architecture is named `aw-<backbone>` (the full two-bank design) or `aw-lr-<backbone>` (the low-rank
design); every other architecture is static. For a built model, `model_zoo.aw.is_dynamic(model)` answers from
its modules.
"""

from __future__ import annotations

DESIGNS = ("full", "low-rank")
LOW_RANK_PREFIX = "aw-lr-"
FULL_PREFIX = "aw-"


def design_of(architecture: str) -> str | None:
    """'full' or 'low-rank' for an AW-Net architecture name, None for a static one."""
    if architecture.startswith(LOW_RANK_PREFIX):
        return "low-rank"
    if architecture.startswith(FULL_PREFIX):
        return "full"
    return None


def is_dynamic_architecture(architecture: str) -> bool:
    """Whether architecture `architecture` (a name) is an AW-Net, whose weights depend on its input."""
    return design_of(architecture) is not None

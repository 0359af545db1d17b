"""`cw`: PGD on the Carlini-Wagner margin loss, the "CW-inf" of robustness papers (Linf or L2 budget).

It shares PGD's options (--steps, --step-size, --restarts, random start); only the loss differs.
"""

from __future__ import annotations

from awbench.attacks.base import register_attack
from awbench.attacks.pgd import PGD


@register_attack("cw", cost=21)
class CWMargin(PGD):
    """PGD maximising max_{j != y} z_j - z_y (clipped at kappa = 50)."""

    loss = "cw"

"""Threat models: the norm and the budget an adversary is allowed."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from fractions import Fraction

from awbench.errors import AwbenchError, UnknownNameError


class Norm(str, Enum):
    LINF = "Linf"
    L2 = "L2"

    @classmethod
    def parse(cls, text: str) -> Norm:
        for norm in cls:
            if norm.value.lower() == str(text).lower():
                return norm
        raise UnknownNameError("norm", text, [n.value for n in cls])


def parse_eps(text: str | float, *, name: str = "eps") -> float:
    """Parse a budget given as a float or a fraction such as '8/255'; it must lie in [0, 1]."""
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        try:
            value = float(Fraction(text.strip())) if "/" in text else float(text)
        except (ValueError, ZeroDivisionError):
            raise AwbenchError(f"--{name} '{text}' is not a number or a fraction like 8/255") from None
    if not 0.0 <= value <= 1.0:
        raise AwbenchError(f"--{name} must lie in [0, 1] (inputs are images in [0, 1]); got {value:g}")
    return value


@dataclass(frozen=True)
class ThreatModel:
    norm: Norm = Norm.LINF
    eps: float = 8 / 255

    def describe(self) -> str:
        return f"{self.norm.value} eps={self.eps:.5g}" + (
            f" ({round(self.eps * 255)}/255)" if self.norm is Norm.LINF else ""
        )

"""The data sets awbench knows, by name: importable without torch (the command line lists them in its help)."""

from __future__ import annotations

from enum import Enum

from awbench.errors import UnknownNameError


class DatasetName(str, Enum):
    CIFAR10 = "cifar10"
    CIFAR100 = "cifar100"
    SVHN = "svhn"
    MNIST = "mnist"

    @classmethod
    def parse(cls, text: str) -> DatasetName:
        try:
            return cls(str(text).lower())
        except ValueError:
            raise UnknownNameError("dataset", text, [d.value for d in cls]) from None

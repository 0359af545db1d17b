"""The one configuration of a training run, saved as the run folder's config.json."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass
class TrainConfig:
    dataset: str = "cifar10"
    model: str = "small-cnn"
    method: str = "pgd-at"
    epochs: int = 10
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "piecewise"  # piecewise (x0.1 at 50% and 75% of epochs) | cosine | constant
    norm: str = "Linf"
    eps: float = 8 / 255
    step_size: float = 2 / 255
    steps: int = 10
    beta: float = 6.0  # TRADES / MART regulariser weight
    router_weight: float = 1.0  # AW-Net: lambda of the router's detection BCE
    clean_teacher: str | None = None  # AW-Net: checkpoint of a standard-trained teacher (MTARD)
    robust_teacher: str | None = None  # AW-Net: checkpoint of an adversarially trained teacher (MTARD)
    temperature_balance: bool = False  # AW-Net with teachers: B-MTARD's entropy-based teacher temperatures
    model_options: dict[str, Any] = field(default_factory=dict)  # the architecture's own (AW-Net: router, rank)
    subset: int | None = None  # class-balanced training subset size
    val_size: int = 500  # held-out training images for best.pt (by PGD accuracy); 0 disables
    augment: bool = True
    data_dir: str | None = None
    download: bool = False
    out: str = "runs"
    name: str | None = None
    seed: int = 0
    device: str = "auto"
    amp: bool = True  # bf16 autocast, CUDA only
    channels_last: bool = True  # CUDA only
    compile: bool | str = False  # torch.compile: True = inductor, or a backend name ("aot_eager", ...)
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> TrainConfig:
        """Check names and ranges before any data is loaded; raise AwbenchError with a one-line reason."""
        import model_zoo
        from awbench.data import DatasetName, check_data_dir
        from awbench.errors import AwbenchError, UnknownNameError
        from awbench.threat import Norm, parse_eps
        from awbench.training.methods import method_class

        DatasetName.parse(self.dataset)
        check_data_dir(self.data_dir, download=self.download)
        if self.model not in model_zoo.available():
            raise UnknownNameError("model", self.model, model_zoo.available())
        self.model_options = model_zoo.resolved_options(self.model, self.model_options)
        method_class(self.method)
        Norm.parse(self.norm)
        self.eps = parse_eps(self.eps)
        self.step_size = parse_eps(self.step_size, name="step-size")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise AwbenchError(f"--{name.replace('_', '-')} must be at least 1")
        for name in ("steps", "val_size"):
            if getattr(self, name) < 0:
                raise AwbenchError(f"--{name.replace('_', '-')} must not be negative")
        if self.subset is not None and self.subset < 1:
            raise AwbenchError("--subset must be a positive number of images")
        if self.lr <= 0:
            raise AwbenchError("--lr must be positive")
        if self.schedule not in ("piecewise", "cosine", "constant"):
            raise UnknownNameError("schedule", self.schedule, ["constant", "cosine", "piecewise"])
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

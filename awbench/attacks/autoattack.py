"""`autoattack`: pyautoattack's AutoAttack (Croce & Hein 2020), a thin adapter; Linf or L2.

--version standard (APGD-CE, APGD-T, FAB-T, Square) | plus | rand (EOT, for randomised defenses); 'custom'
with `aa_attacks` from the Python API (cheap smoke runs, with `aa_iterations`).

Resume. pyautoattack 0.2.0's own `state_path` cannot resume: `EvaluationState.to_disk` writes the set of
attacks through `json.dump(default=str)`, so `from_disk` reads back a string and every resume raises "The
state was created with a different set of attacks"; on a restored state `y_adv` is also never bound. So
awbench resumes at its own level: AutoAttack runs over chunks of examples (`aa_chunk_size`, default four
batches), and the evaluation writes each finished chunk's per-sample results atomically into its state
file (awbench.evaluation.state), skipping finished chunks when the same --out is evaluated again. Each
chunk is a complete standard AutoAttack run on its examples (the attacks are per-sample, so this is still
standard AutoAttack; only the random draws differ from one call over everything). With a chunk covering
all examples, the result equals one bare `AutoAttack(...).run_standard_evaluation` on the same images,
seed and batch size.

Memory format. pyautoattack reshapes input gradients with `view`, which a channels_last input (what the
evaluation uses on CUDA) makes fail; it gets contiguous inputs. Its gradients accumulate into buffers shaped
like the input, so a channels_last model is fine.

Flags. AutoAttack's checks (randomised / dynamic defense, probability outputs, zero gradients, Square
doing better than the gradient attacks...) are logger warnings on the 'auto-attack' logger; they are
captured here and reported in the summary's checks, never dropped. `checks.check_dynamic` counts calls in
a module-global dict that pyautoattack never resets (after one flagged model every later model would be
flagged), so it is reset before each run. That check only sees forward passes that call autograd; a model
dynamic by design (AW-Net) is flagged by the evaluation itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from awbench.attacks.base import Attack, AttackOutput, register_attack, require_positive
from awbench.errors import AwbenchError, UnknownNameError

LOGGER_NAME = "auto-attack"
VERSIONS = ("standard", "plus", "rand", "custom")
CHUNK_BATCHES = 4  # default resumable chunk: four batches of examples


@dataclass(frozen=True)
class AutoAttackOptions:
    """--version, and for cheap smoke runs from the Python API a custom attack list and iteration count."""

    version: str = "standard"  # standard | plus | rand | custom (custom needs aa_attacks)
    aa_attacks: list[str] | None = None  # version 'custom': e.g. ['apgd-ce', 'apgd-t']
    aa_iterations: int | None = None  # override APGD/FAB iterations
    aa_chunk_size: int | None = None  # examples per resumable chunk (default CHUNK_BATCHES batches)

    def validate(self) -> None:
        if self.version not in VERSIONS:
            raise UnknownNameError("AutoAttack version", self.version, VERSIONS)
        if self.version == "custom" and not self.aa_attacks:
            raise AwbenchError("AutoAttack version 'custom' needs aa_attacks, e.g. ['apgd-ce']")
        if self.aa_chunk_size is not None and self.aa_chunk_size < 1:
            raise AwbenchError(f"aa_chunk_size must be at least 1, got {self.aa_chunk_size}")
        if self.aa_iterations is not None:
            require_positive("aa_iterations", self.aa_iterations)


class _FlagCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def captured_flags() -> Iterator[list[str]]:
    """Collect the warnings pyautoattack logs on 'auto-attack' while the block runs."""
    logger = logging.getLogger(LOGGER_NAME)
    collector = _FlagCollector()
    logger.addHandler(collector)
    try:
        yield collector.messages
    finally:
        logger.removeHandler(collector)


def reset_dynamic_check() -> None:
    """Zero pyautoattack's global call counters, which check_dynamic otherwise carries across models."""
    from pyautoattack import checks

    for key in checks.funcs:
        checks.funcs[key] = 0


def build_autoattack(model: nn.Module, *, norm: str, eps: float, version: str, device: torch.device | str,
                     seed: int, attacks: list[str] | None = None, iterations: int | None = None) -> Any:
    """A pyautoattack AutoAttack configured as awbench runs it (also what a bare comparison should use)."""
    from pyautoattack import AutoAttack

    kwargs: dict[str, Any] = {"norm": norm, "eps": eps, "version": version, "device": device, "seed": seed}
    if version == "custom":
        kwargs["attacks"] = list(attacks or [])
    adversary = AutoAttack(model, **kwargs)
    if iterations is not None:
        adversary.fab.n_iter = iterations
        for apgd in (adversary.apgd, adversary.apgd_targeted):
            # APGD derives its step-size schedule from n_iter in __init__: recompute it as APGD does, or a
            # shortened run would never halve its step (checkpoint spacing 22%, minimum 6%, decrement 3%).
            apgd.n_iter = iterations
            apgd.n_iter_2 = max(int(0.22 * iterations), 1)
            apgd.n_iter_min = max(int(0.06 * iterations), 1)
            apgd.size_decr = max(int(0.03 * iterations), 1)
    return adversary


@register_attack("autoattack", cost=1000)
class AutoAttackAdapter(Attack):
    """pyautoattack AutoAttack over resumable chunks; its flags land in the summary's checks."""

    Options = AutoAttackOptions
    options: AutoAttackOptions
    added_for_dynamic_models = True
    flags_label = "AutoAttack"
    stronger_than = ("pgd",)

    def unit_size(self, batch_size: int) -> int:
        return self.options.aa_chunk_size or CHUNK_BATCHES * batch_size

    @property
    def reduced(self) -> str | None:
        return "custom AutoAttack" if self.options.version == "custom" else None

    def run(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> AttackOutput:
        options = self.options
        x = x.contiguous()  # pyautoattack views input gradients (grad.view): a channels_last input breaks it
        adversary = build_autoattack(model, norm=self.threat.norm.value, eps=self.threat.eps,
                                     version=options.version, device=x.device, seed=self.seed,
                                     attacks=options.aa_attacks, iterations=options.aa_iterations)
        reset_dynamic_check()
        with captured_flags() as flags:
            x_adv, _ = adversary.run_standard_evaluation(x, y, batch_size=self.batch_size)
        return AttackOutput(x_adv, flags=list(flags))

    def describe(self) -> dict[str, Any]:
        options = self.options
        described: dict[str, Any] = {"version": options.version,
                                     "chunk_size": self.unit_size(self.batch_size)}
        if options.version == "custom":
            described["attacks"] = options.aa_attacks
        if options.aa_iterations is not None:
            described["iterations"] = options.aa_iterations
        return described

    def label(self) -> str:
        options = self.options
        if options.version == "custom":
            iterations = f", {options.aa_iterations} iterations" if options.aa_iterations else ""
            return f"autoattack (custom: {', '.join(options.aa_attacks or [])}{iterations})"
        return f"autoattack ({options.version})"

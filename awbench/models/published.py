"""`awbench zoo list --published`: the RobustBench leaderboard entries as a terminal table."""

from __future__ import annotations

from rich import box
from rich.table import Table

from awbench.console import console
from awbench.models import leaderboard


def print_published(dataset: str | None = None, threat_model: str | None = None) -> int:
    """Print the entries (best AutoAttack accuracy first within each dataset/threat model); their number."""
    selected = leaderboard.select(dataset, threat_model)
    selected = sorted(selected, key=lambda e: (leaderboard.DATASETS.index(e.dataset), e.threat_model, e.eps,
                                               -(e.autoattack_accuracy or 0.0)))
    table = Table(title=f"Published models (RobustBench leaderboard; evaluate one with rb:MODEL_ID) - "
                        f"{leaderboard.SOURCE}",
                  caption="AutoAttack: standard AutoAttack on the full test set, as RobustBench reports it; "
                          "external: the lower accuracy a stronger attack reached, where RobustBench lists one. "
                          "extra: trained with additional data; unreliable: RobustBench marks the AutoAttack "
                          "number as potentially unreliable; not evaluable: awbench lacks its test set "
                          "(ImageNet), so `awbench eval rb:...` refuses it.",
                  box=box.SIMPLE_HEAD)
    for column in ("model_id (rb:MODEL_ID)", "dataset", "threat", "eps", "architecture", "clean", "AutoAttack",
                   "external", "marks", "venue"):
        table.add_column(column, no_wrap=column.startswith("model_id"))
    for entry in selected:
        marks = ", ".join(mark for mark, on in (("extra data", entry.additional_data),
                                                ("unreliable", entry.unreliable),
                                                ("not evaluable", not entry.evaluable)) if on)
        external = f"{entry.external:.2%}" if entry.external is not None else ""
        table.add_row(entry.model_id, entry.dataset, entry.threat_model, entry.eps, entry.architecture,
                      f"{entry.clean_accuracy:.2%}", f"{entry.autoattack_accuracy:.2%}", external, marks,
                      entry.venue)
    console.print(table)
    return len(selected)

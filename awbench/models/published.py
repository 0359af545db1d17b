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
    columns = {  # name: the cell of an entry, in display order
        "model_id (rb:MODEL_ID)": lambda e: e.model_id, "dataset": lambda e: e.dataset,
        "threat": lambda e: e.threat_model, "eps": lambda e: e.eps, "architecture": lambda e: e.architecture,
        "clean": lambda e: f"{e.clean_accuracy:.2%}", "AutoAttack": lambda e: f"{e.autoattack_accuracy:.2%}",
        "external": lambda e: f"{e.external:.2%}" if e.external is not None else "", "marks": _marks,
        "venue": lambda e: e.venue,
    }
    # A column with one value for every row goes to the title; a narrow terminal drops the wide, optional ones
    # (never cut the names and numbers a user reads: an 80-column terminal used to show "…" in every cell).
    constant = [name for name in ("dataset", "threat", "eps")
                if len({columns[name](entry) for entry in selected}) == 1 and selected]
    omitted = [name for name in NARROW_OMITS if console.width < WIDE_ENOUGH]
    shown = [name for name in columns if name not in constant and name not in omitted]
    title = " ".join(str(columns[name](selected[0])) for name in constant) if constant else ""
    table = Table(title=f"Published models {title + ' ' if title else ''}(RobustBench leaderboard; evaluate one "
                        f"with rb:MODEL_ID) - {leaderboard.SOURCE}",
                  caption="AutoAttack: standard AutoAttack on the full test set, as RobustBench reports it; "
                          "external: the lower accuracy a stronger attack reached, where RobustBench lists one. "
                          "extra: trained with additional data; unreliable: RobustBench marks the AutoAttack "
                          "number as potentially unreliable; not evaluable: awbench lacks its test set "
                          "(ImageNet), so `awbench eval rb:...` refuses it."
                          + (f" Not shown in a terminal this narrow: {', '.join(omitted)}." if omitted else ""),
                  box=box.SIMPLE_HEAD)
    for name in shown:
        table.add_column(name, no_wrap=name != "marks", overflow="fold")
    for entry in selected:
        table.add_row(*(str(columns[name](entry)) for name in shown))
    console.print(table)
    return len(selected)


NARROW_OMITS = ("architecture", "external", "venue")
WIDE_ENOUGH = 140  # columns of terminal that fit every column of the table


def _marks(entry: leaderboard.LeaderboardEntry) -> str:
    return ", ".join(mark for mark, on in (("extra data", entry.additional_data), ("unreliable", entry.unreliable),
                                           ("not evaluable", not entry.evaluable)) if on)

"""`awbench zoo list --published`: the RobustBench leaderboard entries as a terminal table."""

from __future__ import annotations

from rich import box
from rich.measure import Measurement
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
    # A column with one value for every row goes to the title. Cells are never cut (a cut accuracy or a lost
    # "unreliable" mark would misreport a model): when the table is wider than the terminal, venue and then
    # architecture are left out (the caption says so), and if it is still wider it is printed at its full
    # width and the terminal wraps its lines.
    constant = [name for name in ("dataset", "threat", "eps")
                if selected and len({columns[name](entry) for entry in selected}) == 1]
    shown = [name for name in columns if name not in constant]
    title = " ".join(str(columns[name](selected[0])) for name in constant) if constant else ""
    omitted: list[str] = []
    table = _table(selected, columns, shown, title, omitted)
    width = _width(table)
    for name in OPTIONAL_COLUMNS:
        if width <= console.width:
            break
        omitted.append(name)
        table = _table(selected, columns, [n for n in shown if n not in omitted], title, omitted)
        width = _width(table)
    terminal = console.width
    try:  # rich caps a print's width at the console's: widen the console for this one table
        console.width = max(terminal, width)
        console.print(table)
    finally:
        console.width = terminal
    return len(selected)


OPTIONAL_COLUMNS = ("venue", "architecture")  # left out first, in this order, in a terminal too narrow


def _table(selected, columns, shown: list[str], title: str, omitted: list[str]) -> Table:
    table = Table(title=f"Published models {title + ' ' if title else ''}(RobustBench leaderboard; evaluate one "
                        f"with rb:MODEL_ID) - {leaderboard.SOURCE}",
                  caption="AutoAttack: standard AutoAttack on the full test set, as RobustBench reports it; "
                          "external: the lower accuracy a stronger attack reached, where RobustBench lists one. "
                          "extra: trained with additional data; unreliable: RobustBench marks the AutoAttack "
                          "number as potentially unreliable; not evaluable: awbench lacks its test set "
                          "(ImageNet), so `awbench eval rb:...` refuses it."
                          + (f" Left out in a terminal this narrow: {', '.join(omitted)}." if omitted else ""),
                  box=box.SIMPLE_HEAD)
    for name in shown:
        table.add_column(name, no_wrap=True)
    for entry in selected:
        table.add_row(*(str(columns[name](entry)) for name in shown))
    return table


def _width(table: Table) -> int:
    """Columns the table needs with no cell cut or wrapped."""
    return Measurement.get(console, console.options.update(width=10_000), table).maximum


def _marks(entry: leaderboard.LeaderboardEntry) -> str:
    return ", ".join(mark for mark, on in (("extra data", entry.additional_data), ("unreliable", entry.unreliable),
                                           ("not evaluable", not entry.evaluable)) if on)

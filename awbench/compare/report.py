"""The comparison as files (comparison.csv / .md / .tex) and as a rich table on the terminal.

The CSV is the data: accuracies as fractions in [0, 1], every column, readable back with `read_comparison`.
The Markdown, LaTeX and terminal tables are its presentation: accuracies in %, one decimal, budgets as k/255.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd
from rich import box
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table

from awbench.checkpoint import atomic_write
from awbench.compare.collect import ROBUST_PREFIX, TEXT_COLUMNS
from awbench.compare.pareto import format_eps
from awbench.console import console
from awbench.errors import UnknownNameError

TABLE_FORMATS = ("csv", "md", "tex")
TABLE_STEM = "comparison"
# Shown in the presentation tables, in this order, when present (the CSV keeps every column).
_PRESENTED_HEAD = ("run", "model", "method", "dataset", "norm", "eps", "n_examples")
_PRESENTED_TAIL = ("pareto", "group", "checks")
_STRING_COLUMNS = (*TEXT_COLUMNS, "checks", "evaluation", "group")
_BOOLEAN_COLUMNS = ("aw_net", "pareto")
# The terminal shows one table per group, whose title already names these conditions.
_SHOWN_IN_TITLE = ("dataset", "norm", "eps", "n_examples", "group")


def parse_formats(formats: str | Iterable[str]) -> list[str]:
    """'csv,md' or ['csv', 'md'] -> ['csv', 'md']; an unknown format raises, listing the valid ones."""
    items = formats.split(",") if isinstance(formats, str) else list(formats)
    parsed = []
    for item in (str(item).strip().lower().lstrip(".") for item in items):
        if not item:
            continue
        if item not in TABLE_FORMATS:
            raise UnknownNameError("table format", item, TABLE_FORMATS)
        if item not in parsed:
            parsed.append(item)
    return parsed


def accuracy_columns(frame: pd.DataFrame) -> list[str]:
    """Columns holding accuracies (fractions): clean, each attack, worst case and WRA."""
    return [
        name
        for name in frame.columns
        if name == "clean_accuracy"
        or name.startswith(ROBUST_PREFIX)
        or name == "worst_case_accuracy"
        or name.startswith("WRA_")
    ]


def _header(name: str) -> str:
    if name == "clean_accuracy":
        return "clean %"
    if name == "worst_case_accuracy":
        return "worst %"
    if name.startswith(ROBUST_PREFIX):
        return f"{name[len(ROBUST_PREFIX) :]} %"
    if name.startswith("WRA_"):
        return f"{name} %"
    return name


def presentation_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The table as text cells: accuracies in % with one decimal, eps as k/255, empty cells for missing values.

    The group column is shown only when there are several groups.
    """
    accuracies = accuracy_columns(frame)
    columns = [name for name in _PRESENTED_HEAD if name in frame.columns] + accuracies
    columns += [name for name in _PRESENTED_TAIL if name in frame.columns]
    if "group" in columns and frame["group"].nunique() <= 1:
        columns.remove("group")
    text = pd.DataFrame(index=frame.index)
    for name in columns:
        values = frame[name]
        if name in accuracies:
            cells = [f"{100 * value:.1f}" if not pd.isna(value) else "" for value in values]
        elif name == "eps":
            cells = [format_eps(eps, norm) if not pd.isna(eps) else "" for eps, norm in zip(values, frame["norm"])]
        elif name == "pareto":
            cells = ["yes" if value else "" for value in values]
        else:
            cells = ["" if pd.isna(value) else str(value) for value in values]
        text[_header(name)] = pd.Series(cells, index=frame.index, dtype=object)
    return text.reset_index(drop=True)


def _numeric_headers(frame: pd.DataFrame) -> set[str]:
    return {_header(name) for name in accuracy_columns(frame)} | {"eps", "n_examples"}


def _latex_escape(text: str) -> str:
    replacements = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_"}
    replacements |= {"{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
    return "".join(replacements.get(character, character) for character in text)


def markdown_table(frame: pd.DataFrame, notes: list[str]) -> str:
    shown = presentation_frame(frame)
    numeric = _numeric_headers(frame)
    alignment = ["right" if name in numeric else "left" for name in shown.columns]
    # disable_numparse keeps '80.0' as written (tabulate would print it as '80').
    table = shown.to_markdown(index=False, disable_numparse=True, colalign=alignment)
    return "\n\n".join([*notes, table]) + "\n"


def latex_table(frame: pd.DataFrame, notes: list[str]) -> str:
    shown = presentation_frame(frame)
    numeric = _numeric_headers(frame)
    column_format = "".join("r" if name in numeric else "l" for name in shown.columns)
    caption = _latex_escape(" ".join(notes))
    return shown.to_latex(
        index=False, escape=True, column_format=column_format, caption=caption, label="tab:comparison"
    )


def write_tables(frame: pd.DataFrame, notes: list[str], out_dir: Path, formats: Iterable[str]) -> list[Path]:
    """Write comparison.<format> for every format into `out_dir` (atomically); the paths written."""
    writers: dict[str, Callable[[], str]] = {
        "csv": lambda: frame.to_csv(index=False),
        "md": lambda: markdown_table(frame, notes),
        "tex": lambda: latex_table(frame, notes),
    }
    written = []
    for table_format in formats:
        path = Path(out_dir) / f"{TABLE_STEM}.{table_format}"
        data = writers[table_format]().encode("utf-8")
        atomic_write(path, lambda handle, data=data: handle.write(data))
        written.append(path)
    return written


def read_comparison(path: str | Path) -> pd.DataFrame:
    """Read a comparison.csv back into the frame that wrote it (same columns, same dtypes)."""
    header = pd.read_csv(path, nrows=0).columns
    dtypes = {name: "str" for name in _STRING_COLUMNS if name in header}
    dtypes |= {name: "bool" for name in _BOOLEAN_COLUMNS if name in header}
    if "n_examples" in header:
        dtypes["n_examples"] = "Int64"
    # Every other column is a number; an all-empty one must still read as float, not text.
    dtypes |= {name: "float64" for name in header if name not in dtypes}
    return pd.read_csv(path, dtype=dtypes)


def print_table(frame: pd.DataFrame, title: str) -> None:
    """The comparison on the terminal, one table per group (its conditions as the title).

    Pareto rows are bold green and AW-Net runs magenta; columns empty throughout a group are left out, and
    so are model and method, then checks (printed below the table), when the terminal is too narrow for them
    (the written tables keep them all).
    """
    console.print(f"[bold]{escape(title)}[/]")
    for group, members in frame.groupby("group", sort=False):
        shown = presentation_frame(members).drop(columns=list(_SHOWN_IN_TITLE), errors="ignore")
        shown = shown.loc[:, [name for name in shown.columns if (shown[name] != "").any() or name == "run"]]
        for narrower in ([], ["model", "method"], ["model", "method", "checks"]):  # until the table fits
            candidate = shown.drop(columns=narrower, errors="ignore")
            table = _rich_table(candidate, members, str(group), _numeric_headers(frame))
            if Measurement.get(console, console.options.update_width(10_000), table).maximum <= console.width:
                break
        console.print(table)
        if "checks" in shown.columns and "checks" not in candidate.columns:  # dropped to fit: say it below
            moved = [f"{run}: {checks}" for run, checks in zip(shown["run"], shown["checks"]) if checks]
            if moved:
                console.print("checks: " + "; ".join(escape(line) for line in moved))


def _rich_table(shown: pd.DataFrame, members: pd.DataFrame, title: str, numeric: set[str]) -> Table:
    has_numbers = any(name in numeric for name in shown.columns)
    table = Table(
        title=escape(title),
        caption="accuracies in %" if has_numbers else None,
        header_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        title_justify="left",
        caption_justify="left",
    )
    for name in shown.columns:
        is_number = name in numeric
        table.add_column(
            escape(name.removesuffix(" %")),  # the caption says %; narrow headers leave room for the numbers
            justify="right" if is_number else "left",
            min_width=5 if is_number else None,  # '100.0' on one line
            overflow="fold",
            no_wrap=name == "run",  # run names are what a reader looks up: other columns fold first
        )
    for position, (_, row) in enumerate(shown.iterrows()):
        original = members.iloc[position]
        cells = [escape(str(cell)) for cell in row]
        if bool(original["aw_net"]):
            cells[0] = f"[magenta]{cells[0]}[/]"
        table.add_row(*cells, style="bold green" if bool(original["pareto"]) else None)
    return table

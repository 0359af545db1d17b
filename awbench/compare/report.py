"""The comparison as files (comparison.csv / .md / .tex) and as a rich table on the terminal.

The CSV is the data: accuracies as fractions in [0, 1], every column, readable back with `read_comparison`.
The Markdown, LaTeX and terminal tables are its presentation: accuracies in %, one decimal, budgets as k/255;
the files show each accuracy's Wilson 95% interval as `[lo, hi]` in the column after it.
pairwise.csv / .md: the paired tests (awbench.compare.paired).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd
from rich import box
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table

from awbench.compare.collect import CURVE_COLUMNS, DATA_COLUMN, ROBUST_PREFIX, TEXT_COLUMNS
from awbench.compare.paired import ALPHA
from awbench.compare.pareto import format_eps
from awbench.console import console
from awbench.errors import UnknownNameError
from awbench.files import atomic_write
from awbench.stats import interval_of_fraction

TABLE_FORMATS = ("csv", "md", "tex")
TABLE_STEM = "comparison"
PAIRWISE_STEM = "pairwise"
CI_LOW, CI_HIGH = "_ci_low", "_ci_high"
# Shown in the presentation tables, in this order, when present (the CSV keeps every column).
_PRESENTED_HEAD = ("run", "model", "method", "dataset", "norm", "eps", "n_examples")
_PRESENTED_TAIL = ("pareto", "dominance", "group", "checks")
_STRING_COLUMNS = (*TEXT_COLUMNS, "checks", "evaluation", "group", "dominance", "attack_set", DATA_COLUMN,
                   *CURVE_COLUMNS)
_BOOLEAN_COLUMNS = ("aw_net", "pareto")
# The terminal shows one table per group, whose title already names these conditions.
_SHOWN_IN_TITLE = ("dataset", "norm", "eps", "n_examples", "group", DATA_COLUMN)  # data: split groups name it
_CI_HEADER = "95% CI"


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
    """Columns holding accuracies (fractions): clean, each attack, worst case and WRA (not their intervals)."""
    return [
        name
        for name in frame.columns
        if (name == "clean_accuracy" or name.startswith(ROBUST_PREFIX) or name == "worst_case_accuracy"
            or name.startswith("WRA_"))
        and not name.endswith((CI_LOW, CI_HIGH))
    ]


def with_intervals(frame: pd.DataFrame) -> pd.DataFrame:
    """Add `<column>_ci_low/_ci_high` (Wilson 95%, from the fraction and n_examples) after clean, each attack's
    and the worst-case accuracy. WRA mixes two paired proportions: its uncertainty is in the paired tests."""
    frame = frame.copy()
    for name in [name for name in accuracy_columns(frame) if not name.startswith("WRA_")]:
        bounds = [interval_of_fraction(value, None if pd.isna(n) else int(n))
                  for value, n in zip(frame[name], frame["n_examples"], strict=True)]
        position = frame.columns.get_loc(name) + 1
        frame.insert(position, name + CI_LOW, pd.array([low for low, _ in bounds], dtype="float64"))
        frame.insert(position + 1, name + CI_HIGH, pd.array([high for _, high in bounds], dtype="float64"))
    return frame


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


def presentation_frame(frame: pd.DataFrame, intervals: bool = True) -> pd.DataFrame:
    """The table as text cells: accuracies in % with one decimal, eps as k/255, empty cells for missing values;
    with `intervals`, each accuracy that has one is followed by its '[lo, hi]' interval column.

    The group column is shown only when there are several groups.
    """
    accuracies = accuracy_columns(frame)
    columns = [name for name in _PRESENTED_HEAD if name in frame.columns]
    for name in accuracies:
        columns.append(name)
        if intervals and name + CI_LOW in frame.columns:
            columns.append(name + CI_LOW)
    columns += [name for name in _PRESENTED_TAIL if name in frame.columns]
    if "group" in columns and frame["group"].nunique() <= 1:
        columns.remove("group")
    text = pd.DataFrame(index=frame.index)
    for name in columns:
        values = frame[name]
        if name.endswith(CI_LOW):
            highs = frame[name[: -len(CI_LOW)] + CI_HIGH]
            cells = [f"[{100 * low:.1f}, {100 * high:.1f}]" if not pd.isna(low) else ""
                     for low, high in zip(values, highs, strict=True)]
            text[f"{_header(name[: -len(CI_LOW)])} {_CI_HEADER}"] = pd.Series(cells, index=frame.index, dtype=object)
            continue
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
    headers = {_header(name) for name in accuracy_columns(frame)} | {"eps", "n_examples"}
    return headers | {f"{header} {_CI_HEADER}" for header in headers}


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


def pairwise_presentation(pairs: pd.DataFrame) -> pd.DataFrame:
    """The paired tests as text: accuracies in %, p-values with 3 digits, the WRA difference with its interval."""
    def percent(value: float) -> str:
        return f"{100 * value:.1f}"

    return pd.DataFrame({
        "A": pairs["a"], "B": pairs["b"], "n": pairs["n"].astype(str),
        "clean A / B": [f"{percent(a)} / {percent(b)}" for a, b in zip(pairs["clean_a"], pairs["clean_b"],
                                                                         strict=True)],
        "p clean": [f"{p:.3g}" for p in pairs["clean_p"]],
        "robust A / B": [f"{percent(a)} / {percent(b)}" for a, b in zip(pairs["robust_a"], pairs["robust_b"],
                                                                           strict=True)],
        "p robust": [f"{p:.3g}" for p in pairs["robust_p"]],
        "WRA A-B [95%]": [f"{percent(d)} [{percent(low)}, {percent(high)}]" for d, low, high in
                          zip(pairs["wra_difference"], pairs["wra_difference_low"], pairs["wra_difference_high"],
                              strict=True)],
        "verdict": pairs["verdict"],
    })


def _pairwise_note(metric_name: str, weight: float) -> str:
    robust = "worst case over attacks" if metric_name == "worst" else metric_name
    return (f"Paired tests between evaluations on the same examples, threat model and attack set (robust = "
            f"{robust}). p: McNemar's exact test (two-sided, uncorrected for the number of pairs); WRA_{weight:g} "
            f"A-B with a seeded paired-bootstrap 95% interval. 'A dominates (significant)': A is at least as good on "
            f"clean and robust accuracy and better on one with p < {ALPHA}. Accuracies in %.")


def write_pairwise(pairs: pd.DataFrame, out_dir: Path, formats: Iterable[str], metric_name: str,
                   weight: float) -> list[Path]:
    """pairwise.csv (the data) and pairwise.md (with the note saying what the tests are), as asked."""
    written = []
    for table_format in [name for name in formats if name in ("csv", "md")]:
        if table_format == "csv":
            data = pairs.to_csv(index=False)
        else:
            shown = pairwise_presentation(pairs)
            table = shown.to_markdown(index=False, disable_numparse=True) if not shown.empty else "(no pairs)"
            data = _pairwise_note(metric_name, weight) + "\n\n" + table + "\n"
        path = Path(out_dir) / f"{PAIRWISE_STEM}.{table_format}"
        encoded = data.encode("utf-8")
        atomic_write(path, lambda handle, encoded=encoded: handle.write(encoded))
        written.append(path)
    return written


def print_pairs(pairs: pd.DataFrame, against: str | None) -> None:
    """The paired tests on the terminal, compactly (pairwise.md has the intervals of the WRA difference).
    With `against`, A is always that run and its column is left out."""
    title = f"Paired tests: A = {against}" if against else "Paired tests (same examples)"
    table = Table(title=escape(title), header_style="bold", box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False,
                  caption="accuracies A/B in %; p: McNemar exact; sig.: p < 0.05 where better, n.s.: not; the WRA "
                          "difference's bootstrap interval is in pairwise.md", caption_justify="left")
    names = ["B", "clean", "p", "robust", "p ", "WRA A-B", "verdict"]
    for name in names if against else ["A", *names]:
        numeric = name not in ("A", "B", "verdict")
        table.add_column(name, justify="right" if numeric else "left", no_wrap=numeric, overflow="fold",
                         min_width=18 if name == "verdict" else None)
    for _, pair in pairs.iterrows():
        cells = [pair["b"], f"{100 * pair['clean_a']:.1f}/{100 * pair['clean_b']:.1f}",
                 f"{pair['clean_p']:.1g}", f"{100 * pair['robust_a']:.1f}/{100 * pair['robust_b']:.1f}",
                 f"{pair['robust_p']:.1g}", f"{100 * pair['wra_difference']:+.1f}",
                 pair["verdict"].replace("(significant)", "(sig.)").replace("(not significant)", "(n.s.)")]
        significant = "(significant)" in pair["verdict"]
        table.add_row(*(escape(str(cell)) for cell in (cells if against else [pair["a"], *cells])),
                      style="bold" if significant else None)
    console.print(table)


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
        shown = presentation_frame(members, intervals=False).drop(columns=[*_SHOWN_IN_TITLE, "dominance"],
                                                                 errors="ignore")
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

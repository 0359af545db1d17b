"""scripts/regenerate_readme_demo.py rewrites only README's demo section, the same way every time."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.fast  # no data set: synthetic tensors (see conftest)

REPO = Path(__file__).resolve().parents[1]

spec = importlib.util.spec_from_file_location("regenerate", REPO / "scripts" / "regenerate_readme_demo.py")
regenerate = importlib.util.module_from_spec(spec)
spec.loader.exec_module(regenerate)

README = "# awbench\n\nintro\n\n<!-- demo:begin -->\nold table\n<!-- demo:end -->\n\n## Commands\n"
SECTION = ("<!-- demo:begin -->\n| run | clean % |\n|:--|--:|\n| a | 20.0 |\n| b | 24.0 |\n"
           "<!-- demo:end -->")


def test_only_the_section_is_replaced_and_twice_is_once():
    once = regenerate.replace_section(README, SECTION)
    assert once == "# awbench\n\nintro\n\n" + SECTION + "\n\n## Commands\n"
    assert regenerate.replace_section(once, SECTION) == once


def test_missing_or_doubled_markers_are_refused():
    with pytest.raises(SystemExit, match="demo:begin"):
        regenerate.replace_section("# no markers\n", SECTION)
    with pytest.raises(SystemExit):
        regenerate.replace_section(README + README, SECTION)


def test_check_compares_the_table_rows_only():
    rows = regenerate.table_rows(SECTION)
    assert rows == ["| run | clean % |", "| a | 20.0 |", "| b | 24.0 |"]
    assert regenerate.table_rows(SECTION.replace("24.0", "25.0")) != rows
    assert regenerate.table_rows("machine: other, 9.9 min wall\n" + SECTION) == rows

"""One module owns every run-folder file name (awbench.run_layout): no other module spells one."""

from __future__ import annotations

import re
from pathlib import Path

from awbench import run_layout

REPO = Path(__file__).resolve().parents[1]
NAMES = [run_layout.RUN_CONFIG, run_layout.TRAIN_LOG, *run_layout.CHECKPOINTS, run_layout.SUMMARY,
         run_layout.PER_SAMPLE, run_layout.EVALUATION_STATE, run_layout.SWEEP, run_layout.INTERPOLATED_MODEL,
         run_layout.LOCK]
# Still spelling names, to move onto run_layout with their owners' refactor (issue 16, part B).
NOT_YET: set[str] = set()


def test_no_module_but_run_layout_spells_a_file_name_in_code():
    quoted = re.compile("[\"'](" + "|".join(map(re.escape, NAMES)) + ")[\"']")
    spelled = sorted(
        f"{path.relative_to(REPO).as_posix()}: {match.group(1)}"
        for folder in ("awbench", "bench", "scripts") for path in (REPO / folder).rglob("*.py")
        if path.name != "run_layout.py" and path.relative_to(REPO).as_posix() not in NOT_YET
        for match in quoted.finditer(path.read_text(encoding="utf-8"))
    )
    assert not spelled, spelled


def test_a_summary_path_is_found_from_the_folder_or_the_file(tmp_path):
    assert run_layout.summary_path(tmp_path) == run_layout.summary_path(tmp_path / run_layout.SUMMARY)
    assert run_layout.evaluation_folder(tmp_path / run_layout.SUMMARY) == run_layout.evaluation_folder(tmp_path)


def test_a_new_evaluation_folder_never_reuses_an_existing_one(tmp_path):
    first = run_layout.new_evaluation_folder(tmp_path)
    first.mkdir()
    second = run_layout.new_evaluation_folder(tmp_path)
    assert second != first and second.name.startswith(first.name) and not second.exists()

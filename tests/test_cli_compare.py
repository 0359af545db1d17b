"""`awbench compare`, through the real command line: options reach compare_runs, and user errors end as one line
with a non-zero exit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import one_line_error, run_process


def _one_evaluated_run(root: Path) -> Path:
    run = root / "pgd-at"
    (run / "eval-1").mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"model": "small-cnn", "method": "pgd-at", "dataset": "cifar10"}))
    summary = {"model": "small-cnn", "method": "pgd-at", "dataset": "cifar10", "norm": "Linf", "eps": 8 / 255}
    summary |= {"n_examples": 10, "clean_accuracy": 0.5, "robust_accuracy": {"pgd": 0.3}, "worst_case_accuracy": 0.3}
    (run / "eval-1" / "summary.json").write_text(json.dumps(summary))
    return root


def _assert_one_line_error(code: int, stderr: str, *fragments: str) -> None:
    line = one_line_error(code, stderr)
    for fragment in fragments:
        assert fragment in line


@pytest.mark.fast
def test_compare_writes_tables_and_plots_and_says_where(run_cli, tmp_path: Path) -> None:
    runs = _one_evaluated_run(tmp_path / "runs")
    out = tmp_path / "report"
    code, _, stderr = run_cli("compare", str(runs), "--metric", "pgd", "--weight", "0.25", "--out", str(out))
    assert code == 0, stderr
    names = sorted(path.name for path in out.iterdir())
    assert names == ["comparison.csv", "comparison.md", "comparison.tex", "pareto.png", "pareto.svg"]
    assert "WRA_0.25_pgd" in (out / "comparison.csv").read_text()
    assert f"wrote {out / 'pareto.png'}" in stderr


@pytest.mark.fast
def test_format_and_no_plot_options(run_cli, tmp_path: Path) -> None:
    runs = _one_evaluated_run(tmp_path / "runs")
    code, _, stderr = run_cli("compare", str(runs), "--format", "md", "--no-plot")
    assert code == 0, stderr
    assert sorted(path.name for path in runs.iterdir() if path.is_file()) == ["comparison.md"]


@pytest.mark.fast
def test_missing_folder_is_one_line_and_a_non_zero_exit(run_cli, tmp_path: Path) -> None:
    code, _, stderr = run_cli("compare", str(tmp_path / "nowhere"))
    _assert_one_line_error(code, stderr, "no such folder", "nowhere")


@pytest.mark.fast
def test_an_output_folder_that_cannot_be_made_is_one_line(run_cli, tmp_path: Path) -> None:
    root = tmp_path / "runs"
    _one_evaluated_run(root)
    (tmp_path / "a-file").write_text("")
    code, _, stderr = run_cli("compare", str(root), "--out", str(tmp_path / "a-file" / "sub"))
    _assert_one_line_error(code, stderr, "Not a directory", "a-file")


@pytest.mark.fast
def test_empty_folder_is_one_line_and_a_non_zero_exit(run_cli, tmp_path: Path) -> None:
    code, _, stderr = run_cli("compare", str(tmp_path))
    _assert_one_line_error(code, stderr, "no training runs", str(tmp_path))


@pytest.mark.fast
def test_unknown_metric_lists_the_valid_ones(run_cli, tmp_path: Path) -> None:
    code, _, stderr = run_cli("compare", str(_one_evaluated_run(tmp_path)), "--metric", "autoattack")
    _assert_one_line_error(code, stderr, "unknown metric 'autoattack'", "pgd, worst")


@pytest.mark.fast
def test_weight_outside_zero_one_is_one_line(run_cli, tmp_path: Path) -> None:
    code, _, stderr = run_cli("compare", str(_one_evaluated_run(tmp_path)), "--weight", "1.5")
    _assert_one_line_error(code, stderr, "--weight must lie in [0, 1]")


@pytest.mark.fast
def test_help_shows_the_options_and_examples(run_cli) -> None:
    code, out, _ = run_cli("compare", "--help")
    assert code == 0
    for text in ("--metric", "--weight", "--out", "--format", "--no-plot", "awbench compare runs/"):
        assert text in out


def test_installed_command_reports_a_missing_folder_without_traceback(tmp_path: Path) -> None:
    done = run_process("compare", tmp_path / "nowhere", timeout=120)
    _assert_one_line_error(done.returncode, done.stderr, "no such folder")


@pytest.mark.fast
def test_against_prints_its_paired_tests_and_an_unknown_run_is_one_line(run_cli, tmp_path: Path) -> None:
    from test_compare_stats import outcomes, write_paired_evaluation

    write_paired_evaluation(tmp_path, "base", *outcomes(150, 80))
    write_paired_evaluation(tmp_path, "other", *outcomes(110, 40))
    code, _, stderr = run_cli("compare", str(tmp_path), "--against", "other", "--no-plot")
    assert code == 0, stderr
    assert "Paired tests: A = other" in stderr and "B dominates (sig.)" in stderr
    code, _, stderr = run_cli("compare", str(tmp_path), "--against", "nosuch")
    _assert_one_line_error(code, stderr, "nosuch", "base")

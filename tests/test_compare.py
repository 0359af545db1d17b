"""awbench.compare: reading run folders, Pareto flags, grouping, written tables and plots."""

from __future__ import annotations

import json
import math
import os
import struct
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from awbench.compare import compare_runs, pareto_front, read_comparison
from awbench.compare.plot import DPI, figure_size
from awbench.errors import AwbenchError, UnknownNameError

pytestmark = pytest.mark.fast  # no data set: synthetic tensors (see conftest)

EPS_8 = 8 / 255
EPS_4 = 4 / 255


def write_run(root: Path, name: str, *, model: str = "small-cnn", method: str = "pgd-at", **config: Any) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    values = {"dataset": "cifar10", "model": model, "method": method, "epochs": 1, "eps": EPS_8, "norm": "Linf"}
    (folder / "config.json").write_text(json.dumps({**values, "steps": 10, "seed": 0, "name": name, **config}))
    return folder


def write_evaluation(
    folder: Path,
    clean: float,
    robust: dict[str, float],
    *,
    model: str = "small-cnn",
    method: str = "pgd-at",
    eps: float = EPS_8,
    norm: str = "Linf",
    n_examples: int = 100,
    name: str = "eval-20240101-000000",
    **extra: Any,
) -> Path:
    evaluation = folder / name
    evaluation.mkdir(parents=True)
    summary = {
        "checkpoint": str(folder / "best.pt"),
        "model": model,
        "method": method,
        "dataset": "cifar10",
        "n_examples": n_examples,
        "norm": norm,
        "eps": eps,
        "seed": 0,
        "device": "cpu",
        "versions": {"awbench": "0.1.0"},
        "clean_accuracy": clean,
        "robust_accuracy": robust,
        "worst_case_accuracy": min(robust.values()) if robust else None,
        "seconds": {attack: 1.0 for attack in robust},
        "checks": {"gradient-masking": {"status": "pass", "detail": "ok"}},
        "dynamic": False,
        "cascade": False,
        **extra,
    }
    (evaluation / "summary.json").write_text(json.dumps(summary))
    (evaluation / "per_sample.csv").write_text("index,label,clean\n0,1,True\n")
    return evaluation


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    """Four evaluated runs at Linf 8/255 (one AW-Net, flagged by AutoAttack's check) and one unevaluated."""
    root = tmp_path / "runs"
    write_evaluation(write_run(root, "standard", method="standard"), 0.62, {"pgd": 0.01, "autoattack": 0.0})
    write_evaluation(write_run(root, "pgd-at"), 0.41, {"pgd": 0.27, "autoattack": 0.23})
    write_evaluation(write_run(root, "trades", method="trades"), 0.38, {"pgd": 0.24, "autoattack": 0.21})
    aw = write_run(root, "awnet", model="aw-small-cnn", method="awnet")
    write_evaluation(
        aw,
        0.55,
        {"pgd": 0.26, "autoattack": 0.22, "adaptive": 0.2},
        model="aw-small-cnn",
        method="awnet",
        dynamic=True,
        checks={"autoattack-dynamic": {"status": "flag", "detail": "randomness or dynamic defense"}},
    )
    write_run(root, "mart", method="mart")
    return root


# --- Pareto flags on hand-made rows ---------------------------------------------------------------------------


def test_pareto_single_row_is_on_the_front() -> None:
    assert pareto_front([0.5], [0.2]).tolist() == [True]


def test_pareto_dominated_row_is_off_the_front() -> None:
    assert pareto_front([0.6, 0.5, 0.7], [0.3, 0.2, 0.1]).tolist() == [True, False, True]


def test_pareto_tie_on_one_score_is_dominated_by_the_better_other_score() -> None:
    # Same clean accuracy: the lower robust accuracy is dominated; same robust: the lower clean one is.
    assert pareto_front([0.5, 0.5], [0.3, 0.2]).tolist() == [True, False]
    assert pareto_front([0.4, 0.6], [0.25, 0.25]).tolist() == [False, True]


def test_pareto_exact_duplicates_are_both_on_the_front() -> None:
    assert pareto_front([0.5, 0.5, 0.4], [0.3, 0.3, 0.2]).tolist() == [True, True, False]


def test_pareto_float_noise_counts_as_a_tie() -> None:
    assert pareto_front([0.1 + 0.2, 0.3], [0.5, 0.5]).tolist() == [True, True]


def test_pareto_rows_with_a_missing_score_are_never_on_the_front_and_dominate_nothing() -> None:
    flags = pareto_front(np.array([0.9, 0.5, math.nan]), np.array([math.nan, 0.2, 0.9]))
    assert flags.tolist() == [False, True, False]


def test_pareto_trade_off_keeps_every_non_dominated_row() -> None:
    clean = [0.62, 0.55, 0.41, 0.38, 0.40]
    robust = [0.00, 0.20, 0.23, 0.21, 0.22]
    assert pareto_front(clean, robust).tolist() == [True, True, True, False, False]


# --- reading folders ------------------------------------------------------------------------------------------


def test_table_has_one_row_per_evaluation_and_the_expected_columns(runs: Path) -> None:
    result = compare_runs(runs, plot=False, formats=())
    frame = result.frame
    with_ci = [part for name in ("clean_accuracy", "robust_pgd", "robust_autoattack", "robust_adaptive",
                                 "worst_case_accuracy") for part in (name, f"{name}_ci_low", f"{name}_ci_high")]
    assert list(frame.columns) == [
        "run", "model", "method", "dataset", "norm", "eps", "n_examples", *with_ci, "WRA_0.5", "pareto", "dominance",
        "group", "aw_net", "checks", "evaluation", "attack_set", "data", "curve_kind", "curve_label", "curve_value",
    ]  # fmt: skip
    assert sorted(frame["run"]) == ["awnet", "mart", "pgd-at", "standard", "trades"]
    evaluated = frame[frame["evaluation"].notna()].set_index("run")
    assert evaluated.loc["awnet", "aw_net"] and not evaluated.loc["pgd-at", "aw_net"]
    assert evaluated.loc["awnet", "checks"] == "autoattack-dynamic: flag"
    assert pd.isna(evaluated.loc["pgd-at", "checks"])
    assert evaluated.loc["pgd-at", "WRA_0.5"] == pytest.approx(0.5 * 0.41 + 0.5 * 0.23)
    assert evaluated["pareto"].to_dict() == {"standard": True, "awnet": True, "pgd-at": True, "trades": False}
    assert result.warnings == []


def test_run_without_evaluation_is_listed_with_empty_robust_columns(runs: Path) -> None:
    frame = compare_runs(runs, plot=False, formats=()).frame
    mart = frame[frame["run"] == "mart"].iloc[0]
    assert mart["method"] == "mart" and mart["model"] == "small-cnn"
    accuracy_columns = ["clean_accuracy", "robust_pgd", "robust_autoattack", "worst_case_accuracy", "WRA_0.5"]
    assert mart[accuracy_columns].isna().all()
    assert not mart["pareto"] and pd.isna(mart["evaluation"]) and pd.isna(mart["n_examples"])
    assert frame["run"].iloc[-1] == "mart"  # unevaluated runs come last


def test_a_run_with_several_evaluations_gives_several_rows(tmp_path: Path) -> None:
    run = write_run(tmp_path, "pgd-at")
    write_evaluation(run, 0.41, {"pgd": 0.27}, name="eval-1")
    write_evaluation(run, 0.41, {"pgd": 0.25}, name="eval-2")
    frame = compare_runs(tmp_path, plot=False, formats=()).frame
    assert frame["run"].tolist() == ["pgd-at", "pgd-at"]
    assert frame["evaluation"].tolist() == ["pgd-at/eval-1", "pgd-at/eval-2"]
    assert frame["pareto"].tolist() == [True, False]


def test_an_evaluation_elsewhere_is_linked_to_its_run_through_the_checkpoint_path(tmp_path: Path) -> None:
    run = write_run(tmp_path, "trades", method="trades")
    evaluation = write_evaluation(tmp_path / "evaluations", 0.4, {"pgd": 0.2}, method="trades", name="x")
    summary = json.loads((evaluation / "summary.json").read_text())
    summary["checkpoint"] = str(run / "best.pt")
    (evaluation / "summary.json").write_text(json.dumps(summary))
    frame = compare_runs(tmp_path, plot=False, formats=()).frame
    assert frame["run"].tolist() == ["trades"]  # linked, so no extra 'not evaluated' row
    assert frame["evaluation"].tolist() == ["evaluations/x"]


def test_an_evaluation_that_failed_a_self_check_joins_no_front(runs: Path) -> None:
    failing = {"budget:pgd": {"status": "fail", "detail": "3 examples outside the budget"}}
    write_evaluation(write_run(runs, "cheat"), 0.9, {"pgd": 0.8, "autoattack": 0.7}, checks=failing)
    result = compare_runs(runs, plot=False, formats=())
    evaluated = result.frame[result.frame["evaluation"].notna()].set_index("run")
    assert not evaluated.loc["cheat", "pareto"] and evaluated.loc["cheat", "checks"] == "budget:pgd: fail"
    assert evaluated.loc["standard", "pareto"] and evaluated.loc["awnet", "pareto"]  # not dominated by it
    assert any("self-check failed" in note and "cheat" in note for note in result.notes)


def test_the_clean_pseudo_attack_is_not_a_robust_column(tmp_path: Path) -> None:
    write_evaluation(write_run(tmp_path, "a"), 0.5, {"clean": 0.5, "pgd": 0.3}, worst_case_accuracy=0.3)
    result = compare_runs(tmp_path, formats=("md",), plot=False)
    assert "robust_clean" not in result.frame.columns
    with pytest.raises(UnknownNameError):
        compare_runs(tmp_path, metric="clean", plot=False, formats=())


def test_missing_worst_case_falls_back_to_the_lowest_attack_with_a_warning(tmp_path: Path) -> None:
    write_evaluation(write_run(tmp_path, "a"), 0.5, {"pgd": 0.3, "autoattack": 0.25}, worst_case_accuracy=None)
    result = compare_runs(tmp_path, plot=False, formats=())
    assert result.frame["worst_case_accuracy"].tolist() == [0.25]
    assert any("worst_case_accuracy" in warning for warning in result.warnings)


def test_corrupt_and_foreign_json_are_skipped_with_a_warning_naming_the_file(
    runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corrupt = runs / "broken" / "eval-1" / "summary.json"
    corrupt.parent.mkdir(parents=True)
    corrupt.write_text('{"clean_accuracy": 0.5,')
    foreign = runs / "other" / "summary.json"
    foreign.parent.mkdir()
    foreign.write_text(json.dumps({"loss": 0.1, "note": "not ours"}))
    listing = runs / "listing" / "config.json"
    listing.parent.mkdir()
    listing.write_text(json.dumps([1, 2, 3]))
    percent = write_evaluation(runs / "percent", 83.0, {"pgd": 0.4})  # clean accuracy given in % by mistake

    result = compare_runs(runs, plot=False, formats=())

    assert len(result.frame) == 6  # the five runs plus the evaluation whose clean accuracy was ignored
    assert any(str(corrupt) in warning for warning in result.warnings)
    assert any(str(foreign) in warning for warning in result.warnings)
    assert any(str(listing) in warning for warning in result.warnings)
    assert any(str(percent / "summary.json") in warning and "83" in warning for warning in result.warnings)
    stderr = capsys.readouterr().err
    assert f"warning: skipped {corrupt}" in stderr


def test_missing_and_empty_folders_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(AwbenchError, match="no such folder"):
        compare_runs(tmp_path / "nowhere")
    with pytest.raises(AwbenchError, match="no training runs"):
        compare_runs(tmp_path)
    (tmp_path / "bad" / "summary.json").parent.mkdir()
    (tmp_path / "bad" / "summary.json").write_text("not json")
    with pytest.raises(AwbenchError, match="1 file"):
        compare_runs(tmp_path)


def test_unknown_metric_lists_the_valid_ones_for_the_data(runs: Path) -> None:
    with pytest.raises(UnknownNameError) as error:
        compare_runs(runs, metric="cw", plot=False, formats=())
    assert error.value.choices == sorted(["worst", "pgd", "autoattack", "adaptive"])


@pytest.mark.parametrize("weight", [-0.1, 1.5, math.nan])
def test_weight_outside_zero_one_is_an_error(runs: Path, weight: float) -> None:
    with pytest.raises(AwbenchError, match="weight"):
        compare_runs(runs, weight=weight)


def test_metric_and_weight_choose_the_front_and_the_wra_column(runs: Path) -> None:
    frame = compare_runs(runs, metric="pgd", weight=0.7, plot=False, formats=()).frame
    assert "WRA_0.7_pgd" in frame.columns  # w and the robust metric in the name
    evaluated = frame[frame["evaluation"].notna()].set_index("run")
    assert evaluated.loc["trades", "WRA_0.7_pgd"] == pytest.approx(0.7 * 0.38 + 0.3 * 0.24)
    # Clean/PGD: standard 62/1, AW-Net 55/26, pgd-at 41/27 trade off; trades (38/24) is dominated by pgd-at.
    assert evaluated["pareto"].to_dict() == {"pgd-at": True, "awnet": True, "trades": False, "standard": True}


# --- grouping ---------------------------------------------------------------------------------------------------


def test_rows_under_different_eps_or_norm_are_never_in_one_front(tmp_path: Path) -> None:
    strong = write_run(tmp_path, "strong")
    write_evaluation(strong, 0.6, {"pgd": 0.4}, name="eval-8")
    write_evaluation(strong, 0.6, {"pgd": 0.5}, eps=EPS_4, name="eval-4")
    weak = write_run(tmp_path, "weak")
    write_evaluation(weak, 0.5, {"pgd": 0.3}, name="eval-8")
    write_evaluation(weak, 0.5, {"pgd": 0.3}, norm="L2", eps=0.5, name="eval-l2")  # alone: on its own front
    write_evaluation(weak, 0.5, {"pgd": 0.3}, n_examples=1000, name="eval-n")  # more examples: another group

    result = compare_runs(tmp_path, plot=False, formats=())
    frame = result.frame.set_index("evaluation")

    assert frame["group"].to_dict() == {
        "strong/eval-4": "cifar10 Linf eps=4/255 n=100",
        "strong/eval-8": "cifar10 Linf eps=8/255 n=100",
        "weak/eval-8": "cifar10 Linf eps=8/255 n=100",
        "weak/eval-l2": "cifar10 L2 eps=0.5 n=100",
        "weak/eval-n": "cifar10 Linf eps=8/255 n=1000",
    }
    assert frame["pareto"].to_dict() == {
        "strong/eval-4": True,
        "strong/eval-8": True,
        "weak/eval-8": False,  # dominated within its own group only
        "weak/eval-l2": True,
        "weak/eval-n": True,
    }
    assert any("4 groups" in note for note in result.notes)


# --- written files ----------------------------------------------------------------------------------------------


def test_written_csv_reads_back_to_the_same_frame(runs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = compare_runs(runs, out=out, plot=False)
    assert [path.name for path in result.files] == ["comparison.csv", "comparison.md", "comparison.tex"]
    assert all(path.parent == out for path in result.files)

    pd.testing.assert_frame_equal(read_comparison(out / "comparison.csv"), result.frame, check_exact=True)
    # Plain pandas gets the same table; only the nullable integer column and text columns empty throughout (no
    # row is a sweep point here, no summary records its data) need naming.
    empty_text = {name: "str" for name in ("data", "curve_kind", "curve_label")}
    plain = pd.read_csv(out / "comparison.csv", dtype={"n_examples": "Int64", **empty_text})
    pd.testing.assert_frame_equal(plain, result.frame)


def test_markdown_and_latex_tables_show_percentages_and_the_weight(runs: Path) -> None:
    compare_runs(runs, weight=0.5, plot=False)
    markdown = (runs / "comparison.md").read_text()
    latex = (runs / "comparison.tex").read_text()
    assert "| run" in markdown and "WRA_0.5 %" in markdown and "62.0" in markdown and "8/255" in markdown
    assert r"\begin{tabular}" in latex and r"WRA\_0.5 \%" in latex and r"\caption{" in latex


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def _svg_size(path: Path) -> tuple[str, str]:
    root = ElementTree.parse(path).getroot()
    assert root.tag.endswith("svg")
    return root.attrib["width"], root.attrib["height"]


@pytest.mark.parametrize("two_groups", [False, True])
def test_plots_are_valid_images_of_the_expected_size(runs: Path, two_groups: bool) -> None:
    if two_groups:
        write_evaluation(runs / "pgd-at", 0.41, {"pgd": 0.33}, eps=EPS_4, name="eval-4")
    result = compare_runs(runs, formats=())
    png, svg = runs / "pareto.png", runs / "pareto.svg"
    assert result.files == [png, svg]
    width, height = figure_size(2 if two_groups else 1)
    assert _png_size(png) == (round(width * DPI), round(height * DPI))
    assert _svg_size(svg) == (f"{width * 72:g}pt", f"{height * 72:g}pt")
    assert "awnet" in svg.read_text()  # markers are labelled with run names


def test_no_plot_when_nothing_is_evaluated(tmp_path: Path) -> None:
    write_run(tmp_path, "unevaluated")
    result = compare_runs(tmp_path, formats=("csv",))
    assert [path.name for path in result.files] == ["comparison.csv"]
    assert any("no Pareto plot" in note for note in result.notes)


def test_unknown_format_is_an_error(runs: Path) -> None:
    with pytest.raises(UnknownNameError, match="csv, md, tex"):
        compare_runs(runs, formats="csv,html")


def test_terminal_table_keeps_run_names_whole_in_80_columns(tmp_path: Path, capsys) -> None:
    from awbench.compare import print_comparison
    from awbench.console import console

    root = tmp_path / "runs"
    for name, method in (("small-cnn-standard-long-name", "standard"), ("aw-small-cnn-awnet-long-name", "awnet")):
        write_evaluation(write_run(root, name, method=method), 0.5, {"pgd": 0.2, "autoattack": 0.1, "adaptive": 0.1},
                         method=method, checks={"dynamic": {"status": "flag", "detail": "dynamic"}})
    result = compare_runs(root, out=tmp_path / "out", formats=["csv"], plot=False)
    width, console.width = console.width, 80
    try:
        capsys.readouterr()
        print_comparison(result)
    finally:
        console.width = width
    text = capsys.readouterr().err
    assert "small-cnn-standard-long-name" in text and "aw-small-cnn-awnet-long-name" in text
    assert "checks: " in text and "dynamic: flag" in text  # moved below the table, not folded into it


def test_a_clean_only_evaluation_measures_no_robustness(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    write_evaluation(write_run(root, "clean-only"), 0.9, {"clean": 0.9}, worst_case_accuracy=0.9)
    write_evaluation(write_run(root, "attacked"), 0.5, {"pgd": 0.2})
    frame = compare_runs(root, out=tmp_path / "out", formats=["csv"], plot=False).frame.set_index("run")
    assert math.isnan(frame.loc["clean-only", "worst_case_accuracy"])
    assert not frame.loc["clean-only", "pareto"] and frame.loc["attacked", "pareto"]


def test_a_cascade_evaluation_compares_only_its_worst_case(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    write_evaluation(write_run(root, "alone"), 0.5, {"pgd": 0.30, "cw": 0.25}, worst_case_accuracy=0.2)
    write_evaluation(write_run(root, "cascaded"), 0.5, {"pgd": 0.30, "cw": 0.21}, worst_case_accuracy=0.2,
                     cascade=True)
    result = compare_runs(root, out=tmp_path / "out", formats=["csv"], plot=False, metric="cw")
    frame = result.frame.set_index("run")
    assert math.isnan(frame.loc["cascaded", "robust_cw"]) and frame.loc["cascaded", "worst_case_accuracy"] == 0.2
    assert frame.loc["alone", "pareto"] and not frame.loc["cascaded", "pareto"]
    assert any("cascade" in warning for warning in result.warnings)


# --- absurd numbers in a summary, and temporary files of a killed compare -----------------------------------


# Which numbers are absurd is decided (and tested) in awbench.evaluation.record: tests/test_record.py.


def test_compare_on_absurd_numbers_is_no_traceback_on_the_command_line(run_cli, tmp_path: Path) -> None:
    root = tmp_path / "runs"
    write_evaluation(write_run(root, "odd"), 0.40, {"pgd": 0.25}, n_examples=1e19)
    code, _, err = run_cli("compare", root, "--out", tmp_path / "out")
    assert code == 0 and "Traceback" not in err and "n_examples" in err


def test_temporary_files_a_killed_compare_left_are_removed(tmp_path: Path, runs: Path) -> None:
    import subprocess
    import sys

    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    out = tmp_path / "out"
    out.mkdir()
    left = [out / f".comparison.csv.{done.pid}.abcd1234.tmp", out / f".pareto.png.{done.pid}.k2j4_x9z.tmp",
            out / ".comparison.md.q1w2e3r4.tmp"]  # the last: named as awbench did before pids were in names
    kept = [out / ".notes.md.abcd1234.tmp", out / "comparison.csv.tmp"]  # not ours
    for path in left + kept:
        path.write_bytes(b"half")
        os.utime(path, (1_000_000_000, 1_000_000_000))  # long before this process started
    compare_runs(runs, out=out, formats=("csv", "md"), plot=True)
    names = {path.name for path in out.iterdir()}
    assert not any(path.name in names for path in left)
    assert all(path.name in names for path in kept)

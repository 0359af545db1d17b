"""Median wall time of `awbench --help` and `awbench eval --help` (fresh interpreters, imports included).

    python scripts/measure_help_speed.py [--repeats 5] [--compare /path/to/other/checkout]

Each command runs `python -m awbench ...` in a new process from the checkout's root, so that checkout's code
is what is imported; --compare measures another checkout the same way, interleaved, for a like-for-like ratio
on a shared machine. Prints a markdown table and the load average (the goal: under 1 s on an idle machine).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COMMANDS = (["--help"], ["eval", "--help"])


def once(checkout: Path, args: list[str]) -> float:
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "awbench", *args], cwd=checkout, check=True, capture_output=True,
                   env={**os.environ, "COLUMNS": "100"})
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--compare", type=Path, help="another checkout (e.g. the code before a change)")
    args = parser.parse_args()
    checkouts = {"this checkout": REPO, **({f"{args.compare}": args.compare} if args.compare else {})}
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.repeats):  # interleaved: both checkouts meet the same load
        for label, checkout in checkouts.items():
            for command in COMMANDS:
                times.setdefault((label, " ".join(command)), []).append(once(checkout, command))
    print(f"| checkout | command | median of {args.repeats} (s) | min (s) | max (s) |")
    print("|---|---|---:|---:|---:|")
    for (label, command), values in times.items():
        print(f"| {label} | `awbench {command}` | {statistics.median(values):.2f} | {min(values):.2f} | "
              f"{max(values):.2f} |")
    print(f"\nload average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()

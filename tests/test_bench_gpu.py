import json
import subprocess
import sys

from conftest import REPO


def test_gpu_benchmark_runs_tiny_on_cpu(tmp_path):
    out = tmp_path / "gpu.json"
    done = subprocess.run([sys.executable, str(REPO / "bench" / "gpu.py"), "--tiny", "--device", "cpu",
                           "--json", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "| train pgd-at img/s |" in done.stdout and "AutoAttack" in done.stdout
    figures = json.loads(out.read_text())
    assert figures["device"] == "cpu" and len(figures["rows"]) == 2
    for row in figures["rows"]:
        assert row["fp32"] > 0 and row["bf16+channels_last"] > 0
    assert figures["autoattack_seconds_per_1000"] > 0

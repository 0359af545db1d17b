"""awbench.files: atomic writes with the user's umask, and stale temporary files of killed writers removed."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from awbench.checkpoint import atomic_write as old_import  # the old import keeps working
from awbench.files import atomic_write, remove_stale_temp_files

pytestmark = pytest.mark.fast  # no data set: synthetic tensors (see conftest)


def test_the_old_import_is_the_same_function():
    assert old_import is atomic_write


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_follow_the_umask(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        atomic_write(tmp_path / "summary.json", lambda handle: handle.write(b"{}"))
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "summary.json").stat().st_mode) == mode


def _age(path: Path, seconds: float) -> Path:
    past = time.time() - seconds
    os.utime(path, (past, past))
    return path


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


REPO = Path(__file__).resolve().parents[1]


def _python(code: str, *args: str, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=REPO, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, **popen)


def test_temporary_files_of_a_killed_writer_are_removed_by_the_next_write(tmp_path):
    target = tmp_path / "comparison.csv"
    legacy = tmp_path / ".comparison.csv.abcd1234.tmp"  # awbench before pids in names, killed long ago
    foreign = tmp_path / ".notes.txt.abcd1234.tmp"  # another file's temporary file: not ours to remove
    for path in (legacy, foreign):
        path.write_bytes(b"old")
        _age(path, 3600)
    # A writer killed between mkstemp and rename: its temporary file, named after its pid, stays behind.
    killed = _python("import sys, time\n"
                     "from awbench.files import atomic_write\n"
                     "def hang(handle):\n"
                     "    handle.write(b'half'); handle.flush(); print('writing', flush=True); time.sleep(600)\n"
                     "atomic_write(sys.argv[1], hang)\n", str(target), stdout=subprocess.PIPE)
    try:
        assert killed.stdout.readline().strip() == "writing"
        left = [path for path in tmp_path.iterdir() if str(killed.pid) in path.name]
        assert len(left) == 1 and left[0].name.endswith(".tmp")
        assert remove_stale_temp_files(target) == []  # its writer lives: a write in progress, never touched
    finally:
        killed.kill()
        killed.wait()
    # The next awbench process that writes the same file removes what the killed one left.
    writer = _python("import sys\nfrom awbench.files import atomic_write\n"
                     "atomic_write(sys.argv[1], lambda handle: handle.write(b'a,b\\n'))\n", str(target))
    assert writer.wait(timeout=120) == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == [foreign.name, "comparison.csv"]


def test_a_recent_temporary_file_of_a_dead_pid_is_kept_if_newer_than_this_process(tmp_path):
    # Newer than this process: it may belong to a writer started after us whose pid was reused; left alone.
    recent = tmp_path / f".summary.json.{_dead_pid()}.abcd1234.tmp"
    recent.write_bytes(b"x")
    os.utime(recent, (time.time() + 5, time.time() + 5))
    assert remove_stale_temp_files(tmp_path / "summary.json") == []
    assert recent.exists()

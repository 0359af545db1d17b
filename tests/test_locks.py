"""awbench.locks: one writer per folder, checked with real second processes (not only with fake files)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from awbench.errors import AwbenchError
from awbench.locks import LOCK_FILE, FolderLock, FolderLockedError, lock_folder

pytestmark = pytest.mark.fast  # no data set: synthetic tensors (see conftest)

REPO = Path(__file__).resolve().parents[1]

HOLDER = textwrap.dedent("""
    import sys
    from awbench.locks import FolderLock
    lock = FolderLock(sys.argv[1], "test holder").acquire()
    print("locked", flush=True)
    sys.stdin.readline()  # hold until the test closes our stdin
    lock.release()
    print("released", flush=True)
""")


def start_holder(folder: Path) -> subprocess.Popen:
    """A live child process holding the lock on `folder` (it says 'locked' once it holds it)."""
    child = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], cwd=REPO, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = child.stdout.readline()
    assert line.strip() == "locked", child.stderr.read()
    return child


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_second_process_is_refused_with_one_line_naming_the_holder(tmp_path):
    child = start_holder(tmp_path / "out")
    try:
        with pytest.raises(FolderLockedError) as refused:
            FolderLock(tmp_path / "out", "evaluation").acquire()
        message = str(refused.value)
        assert f"pid {child.pid}" in message and "test holder" in message and "\n" not in message
    finally:
        child.communicate("\n", timeout=60)
    assert child.returncode == 0
    assert not (tmp_path / "out" / LOCK_FILE).exists()  # released: the file is gone
    with FolderLock(tmp_path / "out", "evaluation"):  # and the folder is free again
        pass


def test_a_killed_holder_leaves_a_stale_lock_that_is_taken_over_with_a_note(tmp_path, capsys):
    child = start_holder(tmp_path / "out")
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=60)
    assert (tmp_path / "out" / LOCK_FILE).is_file()  # a kill leaves the file behind
    lock = FolderLock(tmp_path / "out", "training").acquire()
    try:
        assert lock.took_over["pid"] == child.pid
        assert "stale lock" in capsys.readouterr().err
        holder = json.loads((tmp_path / "out" / LOCK_FILE).read_text())
        assert holder["pid"] == os.getpid() and holder["purpose"] == "training" and holder["host"]
    finally:
        lock.release()


def test_a_lock_file_of_a_dead_pid_is_stale(tmp_path, capsys):
    folder = tmp_path / "out"
    folder.mkdir()
    pid = dead_pid()
    (folder / LOCK_FILE).write_text(json.dumps({"pid": pid, "host": os.uname().nodename, "purpose": "training"}))
    with FolderLock(folder, "evaluation") as lock:
        assert lock.took_over["pid"] == pid
    assert f"pid {pid}" in capsys.readouterr().err


def test_processes_racing_for_one_folder_get_one_lock(tmp_path):
    racer = textwrap.dedent("""
        import sys
        from awbench.locks import FolderLock, FolderLockedError
        print("ready", flush=True)
        sys.stdin.readline()  # the start signal: all racers try at the same moment
        try:
            lock = FolderLock(sys.argv[1], "racer").acquire()
        except FolderLockedError:
            print("refused", flush=True)
        else:
            print("won", flush=True)
            sys.stdin.readline()  # hold until told to stop
            lock.release()
    """)
    racers = [subprocess.Popen([sys.executable, "-c", racer, str(tmp_path / "out")], cwd=REPO, text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE) for _ in range(3)]
    for child in racers:
        assert child.stdout.readline().strip() == "ready"
    for child in racers:
        child.stdin.write("go\n")
        child.stdin.flush()
    outcomes = [child.stdout.readline().strip() for child in racers]
    for child in racers:
        child.communicate("stop\n", timeout=60)
    assert sorted(outcomes) == ["refused", "refused", "won"]


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_the_lock_is_released_on_error_and_on_interrupt(tmp_path, error):
    with pytest.raises(error):
        with FolderLock(tmp_path / "out", "training"):
            raise error()
    assert not (tmp_path / "out" / LOCK_FILE).exists()
    child = start_holder(tmp_path / "out")  # another process can take it at once
    child.communicate("\n", timeout=60)


def test_lock_folder_does_nothing_when_disabled(tmp_path):
    with lock_folder(tmp_path / "out", "evaluation", enabled=False):
        assert not (tmp_path / "out").exists()
    with lock_folder(tmp_path / "out", "evaluation"):
        assert (tmp_path / "out" / LOCK_FILE).is_file()


def test_a_symlinked_lock_file_is_refused_and_its_target_left_alone(tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / LOCK_FILE).symlink_to(target)
    with pytest.raises(AwbenchError, match="symbolic link") as error:
        FolderLock(folder, "training").acquire()
    assert "\n" not in str(error.value) and target.read_text() == "keep me"
    (folder / LOCK_FILE).unlink()
    (folder / LOCK_FILE).symlink_to(tmp_path / "not-there-yet")  # a dangling link is not created through either
    with pytest.raises(AwbenchError, match="symbolic link"):
        FolderLock(folder, "training").acquire()
    assert not (tmp_path / "not-there-yet").exists()


def test_a_lock_file_that_is_not_a_regular_file_is_refused(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    os.mkfifo(folder / LOCK_FILE)
    with pytest.raises(AwbenchError, match="not a regular file"):
        FolderLock(folder, "training").acquire()

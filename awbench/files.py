"""File helpers: a file's sha256, and writing output files atomically, with the user's umask, and without
leaving temporary files behind.

`atomic_write(path, write)` writes into a temporary file beside `path` and renames it over `path`, so a reader
(or a run killed half-way) never sees a partial file. The temporary file is named `.<name>.<pid>.<random>.tmp`:
one killed before its rename is recognisable by name as ours, and by its pid as abandoned, and the next write
of the same file removes it.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

TEMP_SUFFIX = ".tmp"
_HASHES: dict[tuple[str, int, int], str] = {}


def sha256_of(path: str | Path) -> str:
    """sha256 of a file's bytes, read now (what a checksum that guards a load must see)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cached_sha256_of(path: str | Path) -> str:
    """sha256_of, computed once per (path, size, mtime) in a process (data files recorded in every summary)."""
    path = Path(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _HASHES:
        _HASHES[key] = sha256_of(path)
    return _HASHES[key]


def current_umask() -> int:
    """The process's umask, read without changing it where Linux allows (/proc), else by setting it back."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def pid_is_running(pid: int) -> bool:
    """Whether a process with this id exists on this machine (it may belong to another user)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    except OSError:
        return False
    return True


def process_start_time() -> float:
    """When this process started (epoch seconds); the time awbench was imported where /proc is missing."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return time.time() - uptime + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return _IMPORTED_AT


_IMPORTED_AT = time.time()
# The start time is read in 10 ms ticks from /proc (start and uptime): a file written this close to it counts as
# older. Without the slack a writer killed a few ms before this process started kept its file (a flaky test).
START_SLACK = 0.1


def _temp_pattern(name: str) -> re.Pattern[str]:
    # `.<name>.<pid>.<random>.tmp` (this module) or `.<name>.<random>.tmp` (older awbench: no pid in the name).
    return re.compile(rf"^\.{re.escape(name)}\.(?:(?P<pid>\d+)\.)?[a-z0-9_]{{8}}{re.escape(TEMP_SUFFIX)}$")


def remove_stale_temp_files(path: Path) -> list[Path]:
    """Remove the temporary files a killed `atomic_write(path, ...)` left beside `path`; the paths removed.

    Only files named as ours for this target, older than this process, whose writer (the pid in the name,
    when there is one) no longer runs: a write in progress in another process is never touched.
    """
    path = Path(path)
    pattern, started, removed = _temp_pattern(path.name), process_start_time(), []
    try:
        candidates = list(path.parent.iterdir())
    except OSError:
        return removed
    for candidate in candidates:
        match = pattern.match(candidate.name)
        if match is None or (match["pid"] is not None and pid_is_running(int(match["pid"]))):
            continue
        try:
            if candidate.is_file() and not candidate.is_symlink() and candidate.stat().st_mtime < started + START_SLACK:
                candidate.unlink()
                removed.append(candidate)
        except OSError:
            continue
    return removed


def atomic_write(path: Path, write: Callable[[IO[bytes]], Any]) -> None:
    """Call `write(file_object)` on a temporary file beside `path`, then rename it over `path`.

    A reader (or a run killed half-way) never sees a partial file. The file gets the permissions a plain
    `open(path, "w")` would give (0666 less the umask), not mkstemp's private 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o666 & ~current_umask())
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

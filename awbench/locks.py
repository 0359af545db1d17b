"""One writer per folder: an exclusive lock file that names its holder (pid, host, start time, command).

    with FolderLock(run_dir, "training"):
        ...   # only this process writes into run_dir

The lock is a kernel lock (`flock`) on `<folder>/.awbench.lock`, so it is released by the operating system
when its holder dies, however it dies; the file's JSON says who holds it, for the error a second writer gets.
A lock file left by a holder that is gone (a killed process: no kernel lock, and its pid no longer runs on
this host) is stale: it is taken over with a note. On file systems without `flock` the pid alone decides.
Under torchrun only rank 0 writes, so only rank 0 locks (the callers see to it).
"""

from __future__ import annotations

import errno
import json
import os
import socket
import stat
import sys
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any

from rich.markup import escape

from awbench.console import console
from awbench.errors import AwbenchError
from awbench.files import pid_is_running
from awbench.run_layout import LOCK as LOCK_FILE

try:
    import fcntl
except ImportError:  # Windows: the pid alone decides
    fcntl = None  # type: ignore[assignment]


class FolderLockedError(AwbenchError):
    """Another process is writing into the folder."""


def _holder_info(purpose: str) -> dict[str, Any]:
    return {
        "pid": os.getpid(), "host": socket.gethostname(), "purpose": purpose,
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])[:300] if sys.argv else "",
    }


def _describe(holder: dict[str, Any]) -> str:
    parts = [f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}"]
    if holder.get("purpose"):
        parts.append(f"({holder['purpose']})")
    if holder.get("started"):
        parts.append(f"since {holder['started']}")
    if holder.get("command"):
        parts.append(f"running `{holder['command']}`")
    return " ".join(parts)


def _holder_is_alive(holder: dict[str, Any]) -> bool:
    """For file systems without kernel locks: a holder is alive unless it is a dead pid on this host."""
    pid = holder.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool):
        return False
    if holder.get("host") != socket.gethostname():
        return True  # cannot be checked from here: assume alive
    return pid == os.getpid() or pid_is_running(pid)


class FolderLock:
    """An exclusive lock on `folder` for `purpose` ("training", "evaluation"); a context manager."""

    def __init__(self, folder: str | Path, purpose: str):
        self.folder, self.purpose = Path(folder), purpose
        self.path = self.folder / LOCK_FILE
        self._fd: int | None = None
        self.took_over: dict[str, Any] | None = None  # the stale holder replaced, if any

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> FolderLock:
        """Take the lock or raise FolderLockedError naming the holder; a stale lock is taken over with a note."""
        if self.held:
            return self
        self.folder.mkdir(parents=True, exist_ok=True)
        for _ in range(20):  # retried only when another process removed the file between our open and lock
            fd = self._open()
            try:
                if self._lock(fd) and self._still_the_file(fd):
                    break
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)
        else:
            raise FolderLockedError(f"could not lock {self.path}: it keeps being replaced by another process")
        previous = self._read_fd(fd)
        if previous:  # a holder that did not release: killed, or its machine rebooted
            self.took_over = previous
            console.print(f"[yellow]note:[/] took over the stale lock {escape(str(self.path))} of "
                          f"{escape(_describe(previous))}, which is no longer running", soft_wrap=True)
        text = json.dumps(_holder_info(self.purpose)).encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, text, 0)
        os.fsync(fd)
        self._fd = fd
        return self

    def _open(self) -> int:
        """The lock file, opened (created if need be) without following a symbolic link; a regular file only.

        A link or a device planted as `.awbench.lock` would otherwise have its target overwritten by our JSON.
        """
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(self.path, flags | getattr(os, "O_NONBLOCK", 0), 0o666)  # a FIFO must not block us
        except OSError as error:
            kind = "a symbolic link" if error.errno == errno.ELOOP or self.path.is_symlink() else \
                f"not usable ({error.strerror})"
            raise AwbenchError(f"refusing to use the lock file {self.path}: it is {kind}, not a regular file; "
                               "remove it if no awbench process is running there") from None
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            os.close(fd)
            raise AwbenchError(f"refusing to use the lock file {self.path}: it is not a regular file; remove it if "
                               "no awbench process is running there")
        return fd

    def release(self) -> None:
        """Remove the lock file (while still holding the lock) and let go. Safe to call twice."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            if self._still_the_file(fd):
                self.path.unlink(missing_ok=True)
        finally:
            os.close(fd)  # closing drops the kernel lock

    def _lock(self, fd: int) -> bool:
        """Whether this process now holds the lock on `fd`; FolderLockedError if a live process does."""
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                self._refuse(self._read_fd(fd))
            except OSError as error:
                if error.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
                    raise
        # No kernel locks here: decide by the recorded pid (a race between two starters is then possible).
        holder = self._read_fd(fd)
        if holder and _holder_is_alive(holder):
            self._refuse(holder)
        return True

    def _refuse(self, holder: dict[str, Any]) -> None:
        who = _describe(holder) if holder else "another process (starting up)"
        raise FolderLockedError(
            f"{self.folder} is in use by {who}; wait for it to finish, or choose another folder "
            f"(lock file: {self.path})"
        )

    def _still_the_file(self, fd: int) -> bool:
        """Whether `fd` is still the file at self.path (a releasing holder may have removed it meanwhile)."""
        try:
            return os.fstat(fd).st_ino == os.stat(self.path).st_ino
        except FileNotFoundError:
            return False

    @staticmethod
    def _read_fd(fd: int) -> dict[str, Any]:
        try:
            data = os.pread(fd, 65536, 0)
        except OSError:
            return {}
        if not data.strip():
            return {}
        try:
            holder = json.loads(data.decode("utf-8"))
        except ValueError:
            holder = None
        return holder if isinstance(holder, dict) else {"purpose": "unreadable lock file"}

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.release()


def lock_folder(folder: str | Path, purpose: str, *, enabled: bool = True) -> AbstractContextManager[Any]:
    """A context manager holding the lock on `folder`; one that does nothing when `enabled` is false (the
    non-zero ranks under torchrun, which do not write)."""
    return FolderLock(folder, purpose) if enabled else nullcontext()

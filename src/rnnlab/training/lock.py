"""One writer per run directory: an OS lock on RUN_DIR/.lock for as long as a run trains.

``RunLock(run_dir).acquire()`` takes ``fcntl.flock(LOCK_EX | LOCK_NB)`` on RUN_DIR/.lock and writes
the holder's process id into it; the kernel releases the lock when the process ends, however it
ends, so a killed run never leaves a stale lock (the file stays, unlocked).  A second writer is
refused with a ``LockedError`` naming the holding process.  ``check_free(run_dir)`` asks without taking
anything and without creating anything: a directory without .lock has no holder.  Readers (``rnnlab
eval``, ``rnnlab sample``) take no lock: checkpoints are renamed into place whole, so a reader never
sees half of one.  Where ``fcntl`` does not exist (Windows) the lock does nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

LOCK_FILE = ".lock"


class LockedError(RuntimeError):
    """Another process trains in the run directory; the message names it."""


def _refusal(run_dir: Path, fd: int) -> LockedError:
    os.lseek(fd, 0, os.SEEK_SET)
    pid = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
    return LockedError(f"{run_dir} is in use by another run (process {pid}); wait for it to end, or give "
                       f"another --out")


class RunLock:
    """The exclusive lock of one run directory; ``release`` (or the process's end) gives it back."""

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self._fd: int | None = None

    @property
    def path(self) -> Path:
        return self.run_dir / LOCK_FILE

    def acquire(self) -> RunLock:
        """Take the lock (creating RUN_DIR/.lock in an existing RUN_DIR); LockedError if another holds it."""
        if fcntl is None or self._fd is not None:
            return self
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            error = _refusal(self.run_dir, fd)
            os.close(fd)
            raise error from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def check_free(run_dir: str | Path) -> None:
    """LockedError if a process holds RUN_DIR's lock; creates and changes nothing."""
    path = Path(run_dir) / LOCK_FILE
    if fcntl is None or not path.is_file():
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _refusal(Path(run_dir), fd) from None
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)

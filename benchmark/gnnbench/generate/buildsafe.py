"""Interrupt safety of ``gnnbench data build``: the output directory's lock, workers that die
with the build, and atomic files.

* **Lock.** A build holds ``fcntl.flock(LOCK_EX)`` on ``<out>/.build.lock`` from start to
  finish; a second build of the same directory is refused at once (:class:`BuildLocked`, naming
  the lock file and the PID written in it). Every worker process holds a duplicate of the lock's
  file descriptor (:class:`SharedLock`, passed at spawn), and a flock lasts until the last
  descriptor of it is closed: the kernel releases it only when the main process *and* all its
  workers are gone, however they ended. So a rerun after a kill can never run beside leftover
  workers of the killed build, and a kill -9 leaves no stale lock behind.
* **Workers die with the main process.** Each worker asks Linux for ``SIGKILL`` when its parent
  dies (``prctl(PR_SET_PDEATHSIG)``, :func:`die_with_parent`), then checks that the parent is
  still the one that spawned it (closing the race where it died before the ``prctl``). The
  workers are spawned directly by the main thread of the build process (``spawn`` start method,
  no manager or fork server in between), and the death signal is tied to that thread, which
  lives as long as the build. Elsewhere a thread polls the parent's PID once a second instead.
* **Atomic files.** :func:`write_atomic` writes to a temporary name, fsyncs, renames into place
  and fsyncs the directory; :func:`fsync_file` makes a file written by others durable before a
  marker that vouches for it is written.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing import reduction
from pathlib import Path

LOCK_NAME = ".build.lock"
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class BuildLocked(RuntimeError):
    """Another build holds the output directory's lock."""


class SharedLock:
    """The build lock's file descriptor; pickled into a spawned worker as a duplicate of it, so
    the worker holds the lock too until it exits (see the module docstring)."""

    def __init__(self, fd: int):
        self.fd = fd

    def __reduce__(self):
        # reduction.DupFd only works while a child is being spawned: it adds the fd to those
        # the child inherits (as initargs of ProcessPoolExecutor are)
        return _rebuild_shared_lock, (reduction.DupFd(self.fd),)


def _rebuild_shared_lock(dup) -> SharedLock:
    return SharedLock(dup.detach())


@contextmanager
def build_lock(root: Path) -> Iterator[SharedLock]:
    """Hold the exclusive lock on ``root`` (created if need be) for the ``with`` block."""
    path = Path(root) / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BuildLocked(_locked_message(path, fd)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield SharedLock(fd)
    finally:
        os.close(fd)  # releases the lock once no worker holds a duplicate of fd


def _locked_message(path: Path, fd: int) -> str:
    text = os.pread(fd, 64, 0).decode(errors="replace").strip()
    if not text.isdigit():
        return f"{path} is locked by another `gnnbench data build` of {path.parent}; wait for it to finish or stop it"
    pid = int(text)
    try:
        os.kill(pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    except PermissionError:
        alive = True
    if alive:
        return (f"{path} is locked by another `gnnbench data build` (PID {pid}) writing {path.parent}; "
                f"wait for it to finish or stop it (kill {pid}), then rerun to resume")
    return (f"{path} is locked: the build that took it (PID {pid}) has exited but its worker processes have "
            "not yet; they die with it, so rerun in a moment")


def die_with_parent(parent_pid: int) -> None:
    """Make this (worker) process exit when ``parent_pid``, its parent, dies — also by kill -9."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    else:
        threading.Thread(target=_poll_parent, args=(parent_pid,), daemon=True, name="die-with-parent").start()
    if os.getppid() != parent_pid:  # the parent died before the prctl: no signal will come
        os.kill(os.getpid(), signal.SIGKILL)


def _poll_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(1.0)
    os.kill(os.getpid(), signal.SIGKILL)


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a kill at any moment leaves the old file or the new one."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)

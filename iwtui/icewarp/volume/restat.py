"""The rescan's check that cached folders are unchanged: one ``lstat`` each, on two
threads for a large run of folders.

``os.lstat`` runs its system call without the GIL, so a second thread overlaps the
kernel's part of one call with the Python part of another: 20,010 mailbox folders took
41 ms on one thread and 25 ms on two here (2 cores, quiet). A rescan with nothing changed
is that pass and little else.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Sequence
from queue import SimpleQueue

HOT = -1  # the stamp of a folder holding a file written lately (walk.HOT_SECONDS): never reused
PAIR_MIN = 1024  # folders in one unit (a domain, a top folder): fewer are checked on one thread
RUN = 1024  # folders per hand-over (each thread takes half)


def stamp(st: os.stat_result) -> int:
    """One integer for (inode, mtime, ctime): equal stamps, unchanged folder (a 64-bit hash of
    integers, the same in every process; never HOT)."""
    sv = hash((st.st_ino, st.st_mtime_ns, st.st_ctime_ns))
    return sv if sv != HOT else -2


def unchanged(paths: Sequence[str], stamps: Sequence[int], lo: int, hi: int) -> bool:
    """Whether folders ``lo`` to ``hi`` are still folders with their stamps."""
    lstat, isdir = os.lstat, stat.S_ISDIR
    for path, old in zip(paths[lo:hi], stamps[lo:hi], strict=True):
        try:
            st = lstat(path)
        except OSError:
            return False
        if old != stamp(st) or not isdir(st.st_mode):
            return False
    return True


class Pair:
    """A second thread that checks the upper half of each run."""

    def __init__(self) -> None:
        self._jobs: SimpleQueue[tuple[Sequence[str], Sequence[int], int, int] | None] = (
            SimpleQueue()
        )
        self._done: SimpleQueue[bool] = SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="volume-restat", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                self._done.put(unchanged(*job))
            except BaseException:
                self._done.put(False)

    def unchanged(self, paths: Sequence[str], stamps: Sequence[int], lo: int, hi: int) -> bool:
        mid = (lo + hi) // 2
        self._jobs.put((paths, stamps, mid, hi))
        here = unchanged(paths, stamps, lo, mid)
        return self._done.get() and here

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join()

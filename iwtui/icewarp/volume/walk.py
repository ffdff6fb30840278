"""The folder walker behind Volume: totals as ``du --apparent-size -b`` counts them.

- Only regular files count: their apparent size (``st_size``) and one file each. Symlinks
  are neither followed nor counted; FIFOs, sockets and devices are skipped.
- A file with several hard links counts once per walk, by ``(st_dev, st_ino)``.
- Every folder is opened with ``O_NOFOLLOW | O_DIRECTORY`` relative to its parent's
  descriptor (``openat``), so a folder swapped for a link mid-walk is never entered.
- A file or folder that vanishes mid-walk is skipped; a folder that cannot be listed is
  reported in ``errors`` and counted as empty.
- No per-file state is kept: each folder leaves one ``Folder`` record (its direct files'
  totals, its subfolder names, its hard-linked files) in the cache, which a later walk
  reuses when the folder's inode, mtime and ctime did not change (a folder's mtime moves only
  when its direct entries change) and it held no file written within ``HOT_SECONDS`` of the
  walk that cached it (files appended in place, like today's log, do not move the folder's
  mtime: such "hot" folders are read again every time).
"""

from __future__ import annotations

import errno
import os
import stat
import time
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import islice
from sys import intern
from typing import TYPE_CHECKING, Protocol

from iwtui.icewarp.volume import restat
from iwtui.icewarp.volume.folders import Cache, Folder, FolderCache, Packed
from iwtui.icewarp.volume.restat import HOT, stamp

if TYPE_CHECKING:
    from iwtui.icewarp.volume.helper import Helper

HOT_SECONDS = 24 * 3600
PROGRESS_EVERY = 0.05  # seconds between progress reports (the promise is 100 ms)
CHECK_EVERY = 1024  # entries between clock/cancel checks inside one big folder
HELPER_AFTER = 0.04  # a walk still going after this long, mostly not from the cache,
#                      gets a helper process
CHUNK = 32  # jobs of one folder taken at a time by the walking thread
MAX_DEPTH = 400  # deeper folders are reported, not entered (one descriptor per level)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


class Cancel(Protocol):
    def is_set(self) -> bool: ...


@dataclass
class Unit:
    """One row of the result: a folder walked whole, or only its direct files."""

    name: str
    path: str
    recursive: bool = True
    bytes: int = 0
    files: int = 0
    folders: int = 0
    done: bool = False
    oldest: int = 0  # the oldest regular file's mtime below it, seconds (0: none)


@dataclass
class Progress:
    bytes: int
    files: int
    folders: int
    reused: int
    current: str
    units: list[tuple[str, int, int, bool]]  # name, bytes, files, done
    elapsed: float


@dataclass
class WalkStats:
    bytes: int = 0
    files: int = 0
    folders: int = 0
    reused: int = 0
    vanished: int = 0
    symlinks: int = 0
    cancelled: bool = False
    errors: list[tuple[str, str]] = field(default_factory=list)
    elapsed: float = 0.0


def spare_core() -> bool:
    """A core is free for a helper process: the load average of the last minute at least
    half a core under the cores (this walk counts as one). On a busy machine a second
    process only adds its start-up and the records' transport (measured: 200,000 files
    with load 4 on 2 cores, 2.8 s with the helper, 2.4 s without)."""
    try:
        load = os.getloadavg()[0]
    except OSError:
        return True
    return load < (os.cpu_count() or 1) - 0.5


def list_folder(fd: int) -> Iterable[os.DirEntry[str]]:
    """The entries of an open folder (a seam the tests replace to fake unreadable folders)."""
    return os.scandir(fd)


class Walker:
    """Walk units one after the other, sharing the hard-link set and the cache.

    ``cache`` maps a folder's path to its ``Folder``; ``fresh`` receives every folder this
    walk visited (the caller merges it into the stored cache). A unit's own folder is
    counted first; its subfolders are jobs, walked here from the front of the queue and,
    on a big walk, by a helper process from the back.
    """

    def __init__(
        self,
        cache: Cache | None = None,
        *,
        exclude: Iterable[str] = (),
        progress: Callable[[Progress], None] | None = None,
        cancel: Cancel | None = None,
        hot_seconds: float = HOT_SECONDS,
        clock: Callable[[], float] = time.time,
        helpers: bool = True,
        sink: list[tuple[str, Folder]] | None = None,
    ) -> None:
        self.cache = cache if isinstance(cache, FolderCache) else FolderCache(cache)
        self.fresh: dict[str, Folder] = {}
        self.kept: list[tuple[int, int]] = []  # packed records reused whole: index ranges
        self.exclude = set(exclude)
        self.progress = progress
        self.cancel = cancel
        self.hot_before_ns = int((clock() - hot_seconds) * 1e9)
        self.seen: set[int] = set()
        self.stats = WalkStats()
        self.units: list[Unit] = []
        self.helpers = helpers
        self.sink = sink  # the helper process side: every new record, in walk order
        self._helper: Helper | None = None
        self._jobs: deque[tuple[int, str, str]] | None = None  # while jobs are run
        self._helper_at = 0.0
        self._unit: Unit | None = None
        self._t0 = time.monotonic()
        self._next_report = self._t0 + PROGRESS_EVERY
        self._current = ""

    # -- public -----------------------------------------------------------------------
    def run(self, units: list[Unit]) -> WalkStats:
        self.units = units
        self._t0 = time.monotonic()
        try:
            jobs: deque[tuple[int, str, str]] = deque()
            index, n = 0, len(units)
            while index < n and not self.tick():
                index = self._quick_run(units, index)  # the units reused whole
                if index >= n or self.stats.cancelled:
                    break
                unit = self._unit = units[index]
                for name in self._walk_top(unit):
                    jobs.append((index, unit.path, name))
                index += 1
            self._run_jobs(jobs)
            for unit in units:
                unit.done = not self.stats.cancelled
        finally:
            self._stop_helper()
            self.stats.elapsed = time.monotonic() - self._t0
            self._report()
        return self.stats

    def seen_folders(self) -> dict[str, Folder]:
        """Every folder this walk counted, as ``fresh`` with the packed ones reused whole."""
        if not self.kept:
            return self.fresh
        pk = self.cache.packed
        assert pk is not None
        out = {pk.paths[j]: pk.folder(j) for i, end in self.kept for j in range(i, end)}
        out.update(self.fresh)
        return out

    def merge_many(self, recs: Iterable[tuple[str, Folder]], unit: Unit) -> None:
        """Folders another process walked (the helper): counted and cached here."""
        fresh, s = self.fresh, self.stats
        for path, rec in recs:
            if path in fresh:
                continue
            fresh[path] = rec
            if rec.links:
                self._add(rec.bytes, rec.files, rec.links, unit, rec.oldest)
                continue
            s.bytes += rec.bytes
            s.files += rec.files
            s.folders += 1
            unit.bytes += rec.bytes
            unit.files += rec.files
            unit.folders += 1
            if rec.oldest and (not unit.oldest or rec.oldest < unit.oldest):
                unit.oldest = rec.oldest

    def tick(self) -> bool:
        """Report progress when due; True when the walk must stop."""
        now = time.monotonic()
        if self._jobs is not None and now >= self._helper_at and self._helper is None:
            self._maybe_helper(self._jobs)
        if now >= self._next_report:
            self._next_report = now + PROGRESS_EVERY
            if self._helper is not None:
                self._helper.drain(self)
            self._report()
        return self._cancelled()

    # -- internals --------------------------------------------------------------------
    def _cancelled(self) -> bool:
        if self.stats.cancelled:
            return True
        if self.cancel is not None and self.cancel.is_set():
            self.stats.cancelled = True
        return self.stats.cancelled

    def _report(self) -> None:
        if self.progress is None:
            return
        s = self.stats
        self.progress(
            Progress(
                s.bytes,
                s.files,
                s.folders,
                s.reused,
                self._current,
                [(u.name, u.bytes, u.files, u.done) for u in self.units],
                time.monotonic() - self._t0,
            )
        )

    def _add(self, nbytes: int, nfiles: int, links: tuple[int, ...], unit: Unit | None,
             oldest: int = 0) -> None:  # fmt: skip
        for i in range(0, len(links), 3):
            key = (links[i] << 64) | links[i + 1]
            if key not in self.seen:
                self.seen.add(key)
                nbytes += links[i + 2]
                nfiles += 1
        s = self.stats
        s.bytes += nbytes
        s.files += nfiles
        s.folders += 1
        if unit is not None:
            unit.bytes += nbytes
            unit.files += nfiles
            unit.folders += 1
            if oldest and (not unit.oldest or oldest < unit.oldest):
                unit.oldest = oldest

    def _error(self, path: str, exc: OSError) -> None:
        self.stats.errors.append((path, exc.strerror or type(exc).__name__))

    def _open_failed(self, path: str, exc: OSError) -> None:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            self.stats.vanished += 1  # replaced by a link or a file mid-walk
        else:
            self._error(path, exc)

    def _enter(
        self, parent_fd: int | None, parent: str, name: str | None
    ) -> tuple[int | None, tuple[str, ...]] | None:
        """Count one folder (``name`` in ``parent``, or ``parent`` itself): reused from the
        cache when its inode, mtime and ctime did not change (one ``lstat``, nothing
        opened), else opened without following a link and listed. Returns its descriptor
        (None when not left open: reused, or no subfolders) and its subfolder names; None
        when it is gone or cannot be opened.

        A folder's children are looked up through its descriptor when it was opened
        (``openat``); below a reused folder by path, that folder having just been seen
        unchanged (a real folder, not a link)."""
        path = parent if name is None else f"{parent}/{name}"
        cached = self.cache.get(path)
        try:
            if cached is not None:
                if parent_fd is not None and name is not None:
                    st = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
                else:
                    st = os.lstat(path)
                if self._reusable(cached, st):
                    self._reuse(path, cached)
                    return None, cached.subdirs
            if parent_fd is not None and name is not None:
                fd = os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
            else:
                fd = os.open(path, _DIR_FLAGS)
        except FileNotFoundError:
            self.stats.vanished += 1
            return None
        except OSError as exc:
            self._open_failed(path, exc)
            return None
        try:
            subs = self._folder(fd, path, os.fstat(fd))
        except BaseException:
            os.close(fd)
            raise
        if not subs:
            os.close(fd)
            return None, ()
        return fd, subs

    def _quick_run(self, units: list[Unit], index: int) -> int:
        """The rescan's fast path: count the units from ``index`` on whose every folder is
        unchanged (one ``lstat`` each, nothing opened) straight from the cache; the index
        of the first that is not (nothing of it counted: a folder changed, is missing from
        the cache or is excluded), to be walked the usual way (which still reuses its
        unchanged folders)."""
        n = len(units)
        cache = self.cache
        pk = cache.packed if not cache.folders else None
        if pk is None:
            while index < n and self._quick_dict(units[index]):
                index += 1
                if index & 63 == 0 and self.tick():
                    break
            return index
        return self._quick_packed(units, index, pk)

    def _count(self, nbytes: int, nfiles: int, folders: int) -> None:
        s = self.stats
        s.bytes += nbytes
        s.files += nfiles
        s.folders += folders
        s.reused += folders

    def _quick_packed(self, units: list[Unit], index: int, pk: Packed) -> int:
        # the totals are added to the stats before each progress report and at the end
        n = len(units)
        pos_get, ends, paths, stamps = pk.pos.get, pk.ends, pk.paths, pk.stamps
        nbytes, nfiles, olds, linked = pk.nbytes, pk.nfiles, pk.oldest, pk.linked
        excluded = [j for j in map(pk.pos.get, self.exclude) if j is not None]
        lstat, isdir, h = os.lstat, stat.S_ISDIR, hash
        kept = self.kept
        tb = tf = tn = 0
        done = 0
        pair: restat.Pair | None = None  # a second thread for a large unit's folders
        try:
            while index < n:
                unit = units[index]
                i = pos_get(unit.path)
                if i is None:
                    return index
                end = ends[i] if unit.recursive else i + 1
                if pk.incomplete and not pk.whole(i, end):
                    return index
                if excluded and any(i < j < end for j in excluded):
                    return index
                if end - i <= 4:  # a small unit (an account folder): summed on the way
                    b = f = o = 0
                    for j in range(i, end):
                        try:
                            st = lstat(paths[j])
                        except OSError:
                            return index
                        sv = h((st.st_ino, st.st_mtime_ns, st.st_ctime_ns))
                        if stamps[j] != (sv if sv != HOT else -2) or not isdir(st.st_mode):
                            return index
                        b += nbytes[j]
                        f += nfiles[j]
                        oj = olds[j]
                        if oj and (not o or oj < o):
                            o = oj
                else:  # checked by runs (progress, cancel), summed in C
                    if pair is None and end - i >= restat.PAIR_MIN and spare_core():
                        pair = restat.Pair()
                    run = restat.RUN if pair is not None else 256
                    check = pair.unchanged if pair is not None else restat.unchanged
                    for c in range(i, end, run):
                        top = min(c + run, end)
                        if not check(paths, stamps, c, top):
                            return index
                        if top < end:
                            self._current = paths[top]
                            self._count(tb, tf, tn)
                            tb = tf = tn = 0
                            if self.tick():
                                return index  # cancelled: nothing of this unit counted
                    b, f = sum(nbytes[i:end]), sum(nfiles[i:end])
                    o = min(filter(None, olds[i:end]), default=0)
                if kept and kept[-1][1] == i:
                    kept[-1] = (kept[-1][0], end)  # after the previous unit's folders
                else:
                    kept.append((i, end))
                if linked:
                    links: list[int] = []
                    for k in linked[bisect_left(linked, i) : bisect_left(linked, end)]:
                        links += pk.links[k]
                    for x in range(0, len(links), 3):
                        key = (links[x] << 64) | links[x + 1]
                        if key not in self.seen:
                            self.seen.add(key)
                            b += links[x + 2]
                            f += 1
                tb += b
                tf += f
                tn += end - i
                unit.bytes += b
                unit.files += f
                unit.folders += end - i
                if o and (not unit.oldest or o < unit.oldest):
                    unit.oldest = o
                index += 1
                done += 1
                if done & 63 == 0:
                    self._current = unit.path
                    self._count(tb, tf, tn)
                    tb = tf = tn = 0
                    if self.tick():
                        break
            return index
        finally:
            if pair is not None:
                pair.close()
            self._count(tb, tf, tn)

    def _quick_dict(self, unit: Unit) -> bool:
        get = self.cache.get
        top = get(unit.path)
        if top is None:
            return False
        exclude = self.exclude
        lstat, isdir = os.lstat, stat.S_ISDIR
        seen: list[tuple[str, Folder]] = []
        todo = [(unit.path, top)]
        while todo:
            path, rec = todo.pop()
            try:
                st = lstat(path)
            except OSError:
                return False
            if rec[0] != stamp(st) or not isdir(st.st_mode):
                return False
            seen.append((path, rec))
            if unit.recursive or path != unit.path:
                for name in rec[3]:
                    child = f"{path}/{name}"
                    if exclude and child in exclude:
                        return False
                    c = get(child)
                    if c is None:
                        return False
                    todo.append((child, c))
            if len(seen) & 255 == 0:
                self._current = path
                if self.tick():
                    return True
        fresh = self.fresh
        for path, rec in seen:
            fresh[path] = rec
            self._add(rec[1], rec[2], rec[4], unit, rec[5])
        self.stats.reused += len(seen)
        return True

    def _walk_top(self, unit: Unit) -> list[str]:
        """Count a unit's own folder; the subfolders left to walk (the jobs)."""
        got = self._enter(None, unit.path, None)
        if got is None:
            return []
        fd, subs = got
        if fd is not None:
            os.close(fd)
        if not unit.recursive:
            return []
        return [s for s in subs if f"{unit.path}/{s}" not in self.exclude]

    def _run_jobs(self, jobs: deque[tuple[int, str, str]]) -> None:
        # Many jobs not from the cache: a big first walk, the helper starts at once; else
        # when the walk is still going after HELPER_AFTER (checked at every tick, also
        # inside a job: the parent's first job may be a big part of the walk).
        self._helper_at = self._t0 + (0.0 if len(jobs) >= 64 else HELPER_AFTER)
        self._jobs = jobs
        while jobs and not self.tick():
            # A run of jobs of one folder at a time (the helper takes from the other end).
            try:
                index, top, name = jobs.popleft()
            except IndexError:
                break  # the helper took the last one
            names = [name]
            while len(names) < CHUNK and len(jobs) > 4 * CHUNK:
                try:
                    nxt = jobs.popleft()
                except IndexError:
                    break
                if nxt[0] != index:
                    jobs.appendleft(nxt)
                    break
                names.append(nxt[2])
            self._unit = self.units[index]
            self._descend(None, top, tuple(names))
        self._jobs = None
        if self._helper is not None:
            self._helper.finish(self)

    def _maybe_helper(self, jobs: deque[tuple[int, str, str]]) -> None:
        if self.helpers and len(jobs) >= 4 and self.stats.reused * 2 < self.stats.folders:
            if not spare_core():
                self.helpers = False  # asked once per walk
                return
            self._start_helper(jobs)

    def _start_helper(self, jobs: deque[tuple[int, str, str]]) -> None:
        from iwtui.icewarp.volume import helper

        self._helper = helper.start(self, jobs)
        if self._helper is None:
            self.helpers = False

    def _stop_helper(self) -> None:
        if self._helper is not None:
            self._helper.stop()

    def _descend(self, top_fd: int | None, top_path: str, top_subs: tuple[str, ...]) -> None:
        # One frame per folder being walked: (fd or None, path, subfolder names, [next]).
        stack: list[tuple[int | None, str, tuple[str, ...], list[int]]] = [
            (top_fd, top_path, top_subs, [0])
        ]
        exclude = self.exclude
        cache_get = self.cache.get
        fresh = self.fresh
        stats = self.stats
        unit = self._unit
        lstat = os.lstat
        isdir = stat.S_ISDIR
        n = 0
        try:
            while stack:
                fd, path, subs, pos = stack[-1]
                i = pos[0]
                n += 1
                if i >= len(subs) or (n % 16 == 0 and self.tick()):
                    if fd is not None:
                        os.close(fd)
                    stack.pop()
                    continue
                pos[0] = i + 1
                name = subs[i]
                child = f"{path}/{name}"
                if exclude and child in exclude:
                    continue
                if len(stack) >= MAX_DEPTH:
                    stats.errors.append((child, "too deep"))
                    continue
                cached = cache_get(child)
                if cached is not None and fd is None and not cached[4]:
                    # The rescan's fast path (below a folder seen unchanged): one lstat.
                    cstamp, nbytes, nfiles, csubs, _links, coldest = cached
                    try:
                        st = lstat(child)
                    except OSError:
                        st = None
                    if st is not None and cstamp == stamp(st) and isdir(st.st_mode):
                        fresh[child] = cached
                        stats.reused += 1
                        stats.bytes += nbytes
                        stats.files += nfiles
                        stats.folders += 1
                        if unit is not None:
                            unit.bytes += nbytes
                            unit.files += nfiles
                            unit.folders += 1
                            if coldest and (not unit.oldest or coldest < unit.oldest):
                                unit.oldest = coldest
                        if csubs:
                            stack.append((None, child, csubs, [0]))
                        continue
                got = self._enter(fd, path, name)
                if got is not None and got[1]:
                    stack.append((got[0], child, got[1], [0]))
        finally:
            for fd, *_ in stack:
                if fd is not None:
                    os.close(fd)

    def _reusable(self, cached: Folder, st: os.stat_result) -> bool:
        return cached.stamp == stamp(st) and stat.S_ISDIR(st.st_mode)

    def _reuse(self, path: str, cached: Folder) -> None:
        self._current = path
        self.fresh[path] = cached
        self.stats.reused += 1
        self._add(cached.bytes, cached.files, cached.links, self._unit, cached.oldest)

    def _folder(self, fd: int, path: str, st: os.stat_result) -> tuple[str, ...]:
        """List one open folder: count its direct files, cache it; its subfolder names.

        The hot loop of a first walk (one pass per file): the entries are taken 1,024 at a
        time (clock and cancel checked between), a regular file is asked first (the common
        case), its size and mtime appended to lists summed in C at the end."""
        self._current = path
        subs: list[str] = []
        links: list[int] = []
        sizes: list[int] = []
        mtimes: list[int] = []
        add_size, add_mtime, add_sub = sizes.append, mtimes.append, subs.append
        symlinks = vanished = 0
        try:
            with list_folder(fd) as it:  # type: ignore[attr-defined]
                while True:
                    batch = list(islice(it, CHECK_EVERY))
                    for entry in batch:
                        try:
                            if entry.is_file(follow_symlinks=False):
                                fst = entry.stat(follow_symlinks=False)
                            elif entry.is_dir(follow_symlinks=False):
                                add_sub(intern(entry.name))
                                continue
                            else:
                                if entry.is_symlink():
                                    symlinks += 1
                                continue
                        except FileNotFoundError:
                            vanished += 1
                            continue
                        if fst.st_nlink > 1:
                            links += (fst.st_dev, fst.st_ino, fst.st_size)
                        else:
                            add_size(fst.st_size)
                        add_mtime(fst.st_mtime_ns)
                    if len(batch) < CHECK_EVERY or self.tick():
                        break
        except FileNotFoundError:
            self.stats.vanished += vanished + 1
            self.stats.symlinks += symlinks
            return ()
        except OSError as exc:
            self.stats.vanished += vanished
            self.stats.symlinks += symlinks
            self._error(path, exc)
            self._add(0, 0, (), self._unit)
            return ()
        self.stats.vanished += vanished
        self.stats.symlinks += symlinks
        subs.sort()
        if mtimes:
            hot = max(mtimes) >= self.hot_before_ns
            first = min(mtimes) // 1_000_000_000
        else:
            hot, first = False, 0
        nbytes, nfiles = sum(sizes), len(sizes)
        rec = Folder(HOT if hot else stamp(st), nbytes, nfiles, tuple(subs), tuple(links), first)
        if not self.stats.cancelled:
            self.fresh[path] = rec  # a folder cut short by cancel is not cached
            if self.sink is not None:
                self.sink.append((path, rec))
        self._add(nbytes, nfiles, rec.links, self._unit, 0 if self.stats.cancelled else first)
        return rec.subdirs

"""Files in each account's mailbox now (Account Statistics' Messages Count / Amount and
Created), counted by the Volume walker over the account folders, with the same cache."""

from __future__ import annotations

import os
from array import array
from bisect import bisect_left
from collections.abc import Callable
from itertools import accumulate, repeat
from operator import sub
from pathlib import Path
from typing import NamedTuple

from iwtui.icewarp.install import Install
from iwtui.icewarp.volume import store
from iwtui.icewarp.volume.folders import FolderCache, Packed
from iwtui.icewarp.volume.walk import Cancel, Progress, Unit, Walker

CHUNK = 4096


class Mailbox(NamedTuple):
    files: int
    bytes: int
    oldest: int  # the oldest file's mtime, seconds since the epoch; 0: no file


def mailboxes(
    install: Install,
    state_dir: Path,
    accounts: dict[str, str],
    *,
    cache: FolderCache | None = None,
    progress: Callable[[Progress], None] | None = None,
    cancel: Cancel | None = None,
) -> dict[str, Mailbox]:
    """``accounts``: address -> its folder. Every folder below it counts (``inbox``,
    ``~spam``, ...). ``cache`` as in ``measure``: held by a caller that asks again."""
    held = cache is not None  # by a caller that asks again
    if cache is None:
        cache = store.load_cache(state_dir, install.root)
    elif not cache:
        cache.replace(store.load_cache(state_dir, install.root))
    # the mail folder resolved once (it may be a link); the account folders below it are
    # real folders (the walker never follows a link)
    mail = str(install.mail_dir)
    real = os.path.realpath(mail)
    head = mail + "/"
    if real == mail:
        paths = {a: p if p.startswith(head) else os.path.realpath(p) for a, p in accounts.items()}
    else:
        paths = {a: real + p[len(mail):] if p.startswith(head) else os.path.realpath(p)
                 for a, p in accounts.items()}  # fmt: skip
    if cache.packed is not None and not cache.folders:
        quick = unchanged(cache.packed, paths)
        if quick is not None:
            return quick
    units = [Unit(a, p) for a, p in paths.items()]
    walker = Walker(cache, progress=progress, cancel=cancel)
    stats = walker.run(units)
    complete = not stats.cancelled
    if not (complete and stats.reused == stats.folders and not stats.vanished):
        walked = [u.path for u in units]
        merged = store.merge_cache(cache, walker.seen_folders(), walked, complete)
        kept = store.save_cache(state_dir, install.root, merged, keep=held)
        cache.replace(kept or merged)
    return {u.name: Mailbox(u.files, u.bytes, u.oldest) for u in units}


def unchanged(pk: Packed, paths: dict[str, str]) -> dict[str, Mailbox] | None:
    """The usual listing: every mailbox folder unchanged since the cache was written, its
    counts straight from the packed arrays. One ``lstat`` per folder as the walker's fast
    path does, but in one pass over the folders (the mailboxes' subtrees are contiguous in
    the cache's pre-order) and compared in C, with no ``Unit`` per account. None (nothing
    counted: the walker does it) when a folder changed, vanished, is not a real folder any
    more, is not in the cache whole, or holds hard-linked files."""
    pos, ends = pk.pos.get, pk.ends
    spans: list[tuple[str, int, int]] = []
    for name, path in paths.items():
        i = pos(path)
        if i is None:
            return None
        spans.append((name, i, ends[i]))
    ranges: list[list[int]] = []  # the folders to check: the spans merged where they touch
    for _name, i, end in sorted(spans, key=lambda s: s[1]):
        if ranges and i < ranges[-1][1]:
            return None  # one account folder inside another: the walker sorts it out
        if ranges and i == ranges[-1][1]:
            ranges[-1][1] = end
        else:
            ranges.append([i, end])
    for lo, hi in ranges:
        if pk.incomplete and not pk.whole(lo, hi):
            return None
        k = bisect_left(pk.linked, lo)
        if k < len(pk.linked) and pk.linked[k] < hi:
            return None
    lstat, h, folders = os.lstat, hash, 0o040000
    all_paths, stamps = pk.paths, pk.stamps
    for lo, hi in ranges:
        for c in range(lo, hi, CHUNK):  # a few thousand stat results alive at a time
            top = min(c + CHUNK, hi)
            try:
                sts = list(map(lstat, all_paths[c:top]))
            except OSError:
                return None
            # the walker's stamp(): hash((inode, mtime, ctime)); a cached HOT (-1) never
            # matches (a tuple's hash is never -1)
            if (
                array("q", [h((s.st_ino, s.st_mtime_ns, s.st_ctime_ns)) for s in sts])
                != (stamps[c:top])
            ):
                return None
            if [s.st_mode & 0o170000 for s in sts].count(folders) != top - c:
                return None  # not a real folder any more
    # per account: files and bytes from running sums (two lookups each), the oldest file
    # of its (mostly two) folders
    names = [s[0] for s in spans]
    starts = [s[1] for s in spans]
    stops = [s[2] for s in spans]
    sums_f = [0, *accumulate(pk.nfiles)]
    sums_b = [0, *accumulate(pk.nbytes)]
    files = map(sub, map(sums_f.__getitem__, stops), map(sums_f.__getitem__, starts))
    nbytes = map(sub, map(sums_b.__getitem__, stops), map(sums_b.__getitem__, starts))
    olds = pk.oldest
    oldest: list[int] = []
    add = oldest.append
    for i, end in zip(starts, stops, strict=True):
        if end == i + 2:
            x, y = olds[i], olds[i + 1]
            add((x if x < y else y) if x and y else x or y)
        elif end == i + 1:
            add(olds[i])
        else:
            add(min(filter(None, olds[i:end]), default=0))
    # tuple.__new__ makes each Mailbox in C (its own __new__ and _make are Python)
    made = map(tuple.__new__, repeat(Mailbox), zip(files, nbytes, oldest, strict=True))
    return dict(zip(names, made, strict=True))

"""What Volume keeps in iwtui's state dir (``<state>/volume/``), per install root:

- ``cache-<key>.bin``: the per-folder records of the walker (its direct files' totals,
  its subfolder names, its hard-linked files, its oldest file), so that a rescan reuses
  unchanged folders: in pre-order (``_preorder``), the paths joined in one string and the
  numbers in arrays, checked by a CRC-32: written streamed, read back in a few C calls;
- ``results-<key>.json``: per target the last two complete results (the seed's "previous
  volume counter").

Both are written atomically (a temporary file, then ``os.replace``); a file that cannot be
read or does not match is ignored (the next walk rebuilds it).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import marshal
import operator
import os
import struct
import zlib
from array import array
from operator import attrgetter
from pathlib import Path
from typing import Any

from iwtui.icewarp.volume.folders import Folder, FolderCache, Packed


def folder(state_dir: Path, root: Path) -> tuple[Path, str]:
    key = hashlib.sha1(os.fsencode(os.path.realpath(root))).hexdigest()[:12]
    return state_dir / "volume", key


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def _read(path: Path) -> Any:
    try:
        with open(path, "rb") as fh:
            return json.loads(fh.read())
    except (OSError, ValueError):
        return None


MAGIC = b"IWTVOLC\x06"  # the cache file's first bytes (format 6: packed)
# records, bytes of the paths, of the links, of the subfolder names; CRC-32 of the rest
_HEAD = struct.Struct("<QQQQI")
CHUNK = 4096  # paths encoded and written at a time (the writer holds no copy of them all)


def cache_path(state_dir: Path, root: Path) -> Path:
    where, key = folder(state_dir, root)
    return where / f"cache-{key}.bin"


def load_cache(state_dir: Path, root: Path) -> FolderCache:
    """The cache file as written by ``save_cache`` (empty when missing, of another format,
    damaged or inconsistent): its records stay packed until a walk asks for one."""
    try:
        with open(cache_path(state_dir, root), "rb") as fh:
            data = fh.read()
    except OSError:
        return FolderCache()
    try:
        return FolderCache(packed=_unpack(data))
    except (ValueError, TypeError, EOFError, IndexError, OverflowError, UnicodeError):
        return FolderCache()


def _unpack(data: bytes) -> Packed:
    """``MAGIC``, ``_HEAD``, then the paths (UTF-8, surrogates escaped, joined by NUL), five
    arrays of 64-bit integers (stamps, bytes, files, oldest, subtree ends; this machine's
    byte order), the hard links and the incomplete folders' subfolder names (marshal, small;
    our own file in a private folder, checked by its CRC first)."""
    start = len(MAGIC) + _HEAD.size
    if data[: len(MAGIC)] != MAGIC or len(data) < start:
        raise ValueError("not a cache file")
    n, size_paths, size_links, size_subs, crc = _HEAD.unpack_from(data, len(MAGIC))
    body = memoryview(data)[start:]
    if len(body) != size_paths + 40 * n + size_links + size_subs or zlib.crc32(body) != crc:
        raise ValueError("damaged")
    paths = str(body[:size_paths], "utf-8", "surrogateescape").split("\0") if n else []
    if len(paths) != n:
        raise ValueError("bad paths")
    at = size_paths
    cols: list[array[int]] = []
    for _ in range(5):
        a = array("q")
        a.frombytes(body[at : at + 8 * n])
        cols.append(a)
        at += 8 * n
    links = marshal.loads(body[at : at + size_links])
    subs = marshal.loads(body[at + size_links :])
    if not isinstance(links, dict) or not isinstance(subs, dict):
        raise TypeError("bad cache")
    ends = cols[4]
    if n and (max(ends) > n or not all(map(operator.lt, range(n), ends))):  # i < end <= n
        raise ValueError("bad subtree")
    for k, v in links.items():
        if not (isinstance(k, int) and 0 <= k < n and isinstance(v, tuple) and len(v) % 3 == 0):
            raise ValueError("bad links")
    for k, v in subs.items():
        if not (isinstance(k, int) and 0 <= k < n and isinstance(v, tuple)):
            raise ValueError("bad subfolders")
        if cols[4][k] != k + 1:
            raise ValueError("bad incomplete folder")
    return Packed(paths, cols[0], cols[1], cols[2], cols[3], cols[4], links, subs)


def _preorder(cache: dict[str, Folder]) -> tuple[list[str], list[int], dict[int, tuple[str, ...]]]:
    """The paths in pre-order, the end of each one's subtree, the incomplete folders: each
    folder whose every subfolder has a record is followed by their subtrees; any other
    folder stands alone (its subfolder names kept)."""
    paths: list[str] = []
    ends: list[int] = []
    subs: dict[int, tuple[str, ...]] = {}
    done: set[str] = set()
    get = cache.get
    roots = [p for p in cache if p.rpartition("/")[0] not in cache]
    for root in itertools.chain(roots, cache):  # then anything left: its own tree
        if root in done:
            continue
        todo: list[tuple[str, int]] = [(root, -1)]
        while todo:
            path, start = todo.pop()
            if start >= 0:  # the subtree of the folder at ``start`` ends here
                ends[start] = len(paths)
                continue
            if path in done:
                continue
            rec = cache[path]
            done.add(path)
            i = len(paths)
            paths.append(path)
            ends.append(i + 1)
            if not rec[3]:
                continue
            kids = [f"{path}/{n}" for n in rec[3]]
            if all(get(k) is not None and k not in done for k in kids):
                todo.append((path, i))
                todo += [(k, -1) for k in reversed(kids)]
            else:
                subs[i] = tuple(rec[3])
                roots += [k for k in kids if k in cache and k not in done]
    return paths, ends, subs


def save_cache(state_dir: Path, root: Path, cache: FolderCache | dict[str, Folder],
               keep: bool = True) -> FolderCache | None:  # fmt: skip
    """Write the cache file (streamed: no copy of the whole file in memory). ``keep``: also
    return the records packed as a rescan reads them (what a caller that holds the cache
    keeps: its next rescan takes the fast path)."""
    records = cache.as_dict() if isinstance(cache, FolderCache) else cache
    path = cache_path(state_dir, root)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    paths, ends, subs = _preorder(records)
    links = {i: tuple(records[p].links) for i, p in enumerate(paths) if records[p].links}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    crc = size_paths = 0
    with open(tmp, "wb") as fh:
        fh.write(MAGIC + _HEAD.pack(0, 0, 0, 0, 0))

        def put(data: bytes) -> None:
            nonlocal crc
            crc = zlib.crc32(data, crc)
            fh.write(data)

        for i in range(0, len(paths), CHUNK):
            part = "\0".join(paths[i : i + CHUNK]).encode("utf-8", "surrogateescape")
            if i:
                part = b"\0" + part
            size_paths += len(part)
            put(part)
        for field in ("stamp", "bytes", "files", "oldest"):
            get = attrgetter(field)
            put(array("q", [get(records[p]) for p in paths]).tobytes())
        put(array("q", ends).tobytes())
        blobs = marshal.dumps(links, 4), marshal.dumps(subs, 4)
        for blob in blobs:
            put(blob)
        fh.seek(len(MAGIC))
        fh.write(_HEAD.pack(len(paths), size_paths, len(blobs[0]), len(blobs[1]), crc))
    os.replace(tmp, path)
    old = path.with_suffix(".json")  # format 4 and before
    if old.exists():
        old.unlink()
    del paths, ends, subs, links
    return load_cache(state_dir, root) if keep else None


def merge_cache(
    old: FolderCache | dict[str, Folder],
    fresh: dict[str, Folder],
    walked: list[str],
    complete: bool,
) -> dict[str, Folder]:
    """The stored cache after a walk: the folders under a fully walked path that the walk
    did not see are gone; a cancelled walk only adds what it saw."""
    if isinstance(old, FolderCache):
        old = old.as_dict()
    if complete and walked:
        roots = set(walked)

        def under_walked(path: str) -> bool:
            while path:
                if path in roots:
                    return True
                path = path.rpartition("/")[0]
            return False

        old = {k: v for k, v in old.items() if k in fresh or not under_walked(k)}
    else:
        old = dict(old)
    old.update(fresh)
    return old


def load_results(state_dir: Path, root: Path) -> dict[str, Any]:
    where, key = folder(state_dir, root)
    data = _read(where / f"results-{key}.json")
    return data if isinstance(data, dict) else {}


def save_results(state_dir: Path, root: Path, results: dict[str, Any]) -> None:
    where, key = folder(state_dir, root)
    _write(where / f"results-{key}.json", json.dumps(results, indent=1).encode())

"""What Volume keeps in iwtui's state dir (``<state>/volume/``), per install root:

- ``cache-<key>.bin``: the per-folder records of the walker (its direct files' totals,
  its subfolder names, its hard-linked files, its oldest file), so that a rescan reuses
  unchanged folders: packed in pre-order (``pack``), read back in a few C calls (a marshal
  payload checked by its CRC-32: paths joined in one string, the numbers in arrays);
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
import os
import struct
import zlib
from array import array
from pathlib import Path
from typing import Any

from iwtui.icewarp.volume.walk import Folder, FolderCache, Packed


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


MAGIC = b"IWTVOLC\x05"  # the cache file's first bytes (format 5: packed, marshal)
_LEN = struct.Struct("<QI")  # payload length, CRC-32


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
    except (ValueError, TypeError, EOFError, IndexError, OverflowError):
        return FolderCache()


def _ints(raw: object, n: int) -> array[int]:
    if not isinstance(raw, bytes):
        raise TypeError("not bytes")
    a = array("q")
    a.frombytes(raw)
    if len(a) != n:
        raise ValueError("length")
    return a


def _unpack(data: bytes) -> Packed:
    head = len(MAGIC) + _LEN.size
    if data[: len(MAGIC)] != MAGIC or len(data) < head:
        raise ValueError("not a cache file")
    size, crc = _LEN.unpack_from(data, len(MAGIC))
    body = memoryview(data)[head:]
    if len(body) != size or zlib.crc32(body) != crc:
        raise ValueError("damaged")
    # our own file, in a private folder, checked by its CRC (marshal trusts its input)
    names, stamps, nbytes, nfiles, oldest, ends, links, subs = marshal.loads(body)
    if not isinstance(names, str) or not isinstance(links, dict) or not isinstance(subs, dict):
        raise TypeError("bad cache")
    paths = names.split("\0") if names else []
    n = len(paths)
    cols = [_ints(c, n) for c in (stamps, nbytes, nfiles, oldest, ends)]
    if any(not i < e <= n for i, e in enumerate(cols[4])):
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


def pack(cache: dict[str, Folder]) -> bytes:
    """The records in pre-order: each folder whose every subfolder has a record is followed
    by their subtrees; any other folder stands alone (its subfolder names kept)."""
    paths: list[str] = []
    rows: list[Folder] = []
    ends: list[int] = []
    links: dict[int, tuple[int, ...]] = {}
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
            rows.append(rec)
            ends.append(i + 1)
            if rec[4]:
                links[i] = tuple(rec[4])
            if not rec[3]:
                continue
            kids = [f"{path}/{n}" for n in rec[3]]
            if all(get(k) is not None and k not in done for k in kids):
                todo.append((path, i))
                todo += [(k, -1) for k in reversed(kids)]
            else:
                subs[i] = tuple(rec[3])
                roots += [k for k in kids if k in cache and k not in done]
    cols = [array("q", [r.stamp for r in rows]), array("q", [r.bytes for r in rows]),
            array("q", [r.files for r in rows]), array("q", [r.oldest for r in rows]),
            array("q", ends)]  # fmt: skip
    body = marshal.dumps(("\0".join(paths), *(c.tobytes() for c in cols), links, subs), 4)
    return MAGIC + _LEN.pack(len(body), zlib.crc32(body)) + body


def save_cache(state_dir: Path, root: Path, cache: FolderCache | dict[str, Folder]
               ) -> FolderCache:  # fmt: skip
    """Write the cache file; the same records packed as a rescan reads them (what a caller
    that holds the cache keeps: its next rescan takes the fast path)."""
    records = cache.as_dict() if isinstance(cache, FolderCache) else cache
    path = cache_path(state_dir, root)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = pack(records)
    _write(path, data)
    old = path.with_suffix(".json")  # format 4 and before
    if old.exists():
        old.unlink()
    return FolderCache(packed=_unpack(data))


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

"""What Volume keeps in iwtui's state dir (``<state>/volume/``), per install root:

- ``cache-<key>.json``: the per-folder records of the walker (its direct files' totals,
  its subfolder names, its hard-linked files), so that a rescan reuses unchanged folders;
- ``results-<key>.json``: per target the last two complete results (the seed's "previous
  volume counter").

Both are written atomically (a temporary file, then ``os.replace``); a file that cannot be
read or does not match is ignored (the next walk rebuilds it).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from sys import intern
from typing import Any

from iwtui.icewarp.volume.walk import Folder

VERSION = 4
CHUNK = 2000


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


def load_cache(state_dir: Path, root: Path) -> dict[str, Folder]:
    """The cache file: a header line, then lines of up to ``CHUNK`` rows (read one line at
    a time: memory holds the records, never the whole parsed file)."""
    where, key = folder(state_dir, root)
    out: dict[str, Folder] = {}
    paths: list[str] = []
    try:
        with open(where / f"cache-{key}.json", "rb") as fh:
            head = json.loads(fh.readline())
            if not isinstance(head, dict) or head.get("v") != VERSION:
                return {}
            for line in fh:
                # A row names its folder by its parent's row (or in full).
                for parent, name, st, b, f, subs, links, old in json.loads(line):
                    path = name if parent < 0 else f"{paths[parent]}/{name}"
                    paths.append(path)
                    out[path] = Folder(st, b, f, tuple(map(intern, subs)), tuple(links), old)
    except (OSError, KeyError, TypeError, ValueError, IndexError):
        return {}
    return out


def save_cache(state_dir: Path, root: Path, cache: dict[str, Folder]) -> None:
    where, key = folder(state_dir, root)
    path = where / f"cache-{key}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    index: dict[str, int] = {}
    with open(tmp, "wb") as fh:
        fh.write(json.dumps({"v": VERSION}).encode() + b"\n")
        rows: list[list[object]] = []
        for p, r in cache.items():
            parent, _, name = p.rpartition("/")
            up = index.get(parent, -1)
            index[p] = len(index)
            rows.append([up, name if up >= 0 else p, *r])
            if len(rows) >= CHUNK:
                fh.write(_line(rows))
                rows = []
        if rows:
            fh.write(_line(rows))
    os.replace(tmp, path)


def _line(rows: list[list[object]]) -> bytes:
    return json.dumps(rows, separators=(",", ":")).encode("utf-8", "surrogateescape") + b"\n"


def merge_cache(
    old: dict[str, Folder], fresh: dict[str, Folder], walked: list[str], complete: bool
) -> dict[str, Folder]:
    """The stored cache after a walk: the folders under a fully walked path that the walk
    did not see are gone; a cancelled walk only adds what it saw."""
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

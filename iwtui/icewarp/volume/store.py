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
from typing import Any

from iwtui.icewarp.volume.walk import Folder

VERSION = 1


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
    where, key = folder(state_dir, root)
    data = _read(where / f"cache-{key}.json")
    if not isinstance(data, dict) or data.get("v") != VERSION:
        return {}
    out: dict[str, Folder] = {}
    try:
        for p, ino, mt, ct, b, f, subs, links, newest in data["folders"]:
            out[p] = Folder(ino, mt, ct, b, f, tuple(subs), tuple(links), newest)
    except (KeyError, TypeError, ValueError):
        return {}
    return out


def save_cache(state_dir: Path, root: Path, cache: dict[str, Folder]) -> None:
    where, key = folder(state_dir, root)
    rows = [[p, *r] for p, r in cache.items()]
    data = json.dumps({"v": VERSION, "folders": rows}, separators=(",", ":"))
    _write(where / f"cache-{key}.json", data.encode("utf-8", "surrogateescape"))


def merge_cache(
    old: dict[str, Folder], fresh: dict[str, Folder], walked: list[str], complete: bool
) -> dict[str, Folder]:
    """The stored cache after a walk: the folders under a fully walked path that the walk
    did not see are gone; a cancelled walk only adds what it saw."""
    if complete and walked:
        prefixes = tuple(p + "/" for p in walked)
        roots = set(walked)
        old = {k: v for k, v in old.items() if k not in roots and not k.startswith(prefixes)}
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

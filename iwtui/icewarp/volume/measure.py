"""One Volume measurement: resolve the target, walk it (reusing the cache), keep the
previous result beside the current one. The CLI and the Volume screen both call
``measure``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from iwtui.icewarp.install import Install
from iwtui.icewarp.volume import store
from iwtui.icewarp.volume.folders import FolderCache
from iwtui.icewarp.volume.targets import Target, resolve
from iwtui.icewarp.volume.walk import Cancel, Progress, Walker


@dataclass(frozen=True)
class Child:
    name: str
    bytes: int
    files: int


@dataclass(frozen=True)
class Previous:
    bytes: int
    files: int
    at: str


@dataclass
class VolumeResult:
    target: str
    kind: str
    path: str
    bytes: int
    files: int
    folders: int
    children: list[Child]
    previous: Previous | None
    at: str
    complete: bool = True
    errors: list[tuple[str, str]] = field(default_factory=list)
    vanished: int = 0
    reused: int = 0
    elapsed: float = 0.0

    @property
    def difference(self) -> tuple[int, int] | None:
        if self.previous is None:
            return None
        return self.bytes - self.previous.bytes, self.files - self.previous.files

    def to_json(self) -> dict[str, Any]:
        diff = self.difference
        return {
            "target": self.target,
            "kind": self.kind,
            "bytes": self.bytes,
            "files": self.files,
            "children": [
                {"name": c.name, "bytes": c.bytes, "files": c.files} for c in self.children
            ],
            "previous": None
            if self.previous is None
            else {
                "bytes": self.previous.bytes,
                "files": self.previous.files,
                "at": self.previous.at,
            },
            "at": self.at,
            "difference": None if diff is None else {"bytes": diff[0], "files": diff[1]},
            "path": self.path,
            "folders": self.folders,
            "complete": self.complete,
            "errors": [{"path": p, "error": e} for p, e in self.errors],
            "vanished": self.vanished,
            "reused_folders": self.reused,
        }


def _now() -> datetime:
    return datetime.now()


def previous_of(state_dir: Path, install: Install, target: str) -> Previous | None:
    """The last complete result stored for a target."""
    cur = store.load_results(state_dir, install.root).get(target, {}).get("current")
    if not isinstance(cur, dict):
        return None
    try:
        return Previous(int(cur["bytes"]), int(cur["files"]), str(cur["at"]))
    except (KeyError, TypeError, ValueError):
        return None


def measure(
    install: Install,
    text: str | None,
    state_dir: Path,
    *,
    progress: Callable[[Progress], None] | None = None,
    cancel: Cancel | None = None,
    now: Callable[[], datetime] = _now,
    use_cache: bool = True,
    helpers: bool = True,
    target: Target | None = None,
    cache: FolderCache | None = None,
) -> VolumeResult:
    """Walk a target. A cancelled walk returns its partial totals (``complete`` False) and
    is not stored as a result; the folders it finished still go to the cache.

    ``cache``: a caller that measures again and again (the Volume screen) keeps the cache
    in memory: it is read from the state dir only when empty, updated in place, and
    written back only when the walk changed it (so is the one read from the state dir)."""
    tgt = target or resolve(install, text)
    held = cache is not None  # by a caller that measures again
    if cache is None:
        cache = store.load_cache(state_dir, install.root) if use_cache else FolderCache()
    elif not cache and use_cache:
        cache.replace(store.load_cache(state_dir, install.root))
    walker = Walker(cache, exclude=tgt.exclude, progress=progress, cancel=cancel,
                    helpers=helpers)  # fmt: skip
    stats = walker.run(tgt.units)
    complete = not stats.cancelled
    walked = [u.path for u in tgt.units if u.recursive]
    unchanged = complete and stats.reused == stats.folders and not (stats.vanished or stats.errors)
    if not unchanged:
        merged = store.merge_cache(cache, walker.seen_folders(), walked, complete)
        kept = store.save_cache(state_dir, install.root, merged, keep=held) if use_cache else None
        cache.replace(kept or merged)
    at = now().replace(microsecond=0).isoformat()
    results = store.load_results(state_dir, install.root)
    entry = results.get(tgt.name) if isinstance(results.get(tgt.name), dict) else {}
    prev = previous_of(state_dir, install, tgt.name)
    if complete:
        cur = {"bytes": stats.bytes, "files": stats.files, "at": at}
        results[tgt.name] = {"current": cur, "previous": (entry or {}).get("current")}
        store.save_results(state_dir, install.root, results)
    children = [Child(u.name, u.bytes, u.files) for u in tgt.units]
    return VolumeResult(
        tgt.name, tgt.kind, tgt.path, stats.bytes, stats.files, stats.folders, children, prev,
        at, complete, stats.errors, stats.vanished, stats.reused, stats.elapsed,
    )  # fmt: skip

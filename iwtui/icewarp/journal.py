"""The action journal on disk: ``<state_dir>/journal.jsonl``, one JSON object a line.

An action is written ahead and as it goes, so that it can be undone from any
interruption (Ctrl-C, SIGTERM, ``kill -9``, a full disk):

- ``{"kind": "plan", "id", ...}`` before the first step: the action, its targets, and
  for each target the undo records its step *would* produce (``intent``: for a move,
  the original path and where it will go);
- ``{"kind": "steps", "id", "results": [...]}`` per batch of steps (fsync per batch);
- ``{"kind": "end", "id", "interrupted", ...}`` closes the action.

Every append starts on a new line (a torn last line is never glued to the next entry),
under an exclusive ``flock`` so two iwtui processes never interleave. Reading merges the
lines of one action into one entry; damaged lines are skipped and counted. Lines
without ``kind`` are the one-line entries of older iwtui versions, read as they are.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iwtui.errors import Refused

MIN_FREE = 1 << 20  # refuse to start an action with less than 1 MiB free for the journal
_FLAGS = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass
class JournalView:
    """The journal as read: merged entries, oldest first, and the damaged lines."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    damaged: list[int] = field(default_factory=list)  # 1-based line numbers


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path

    # --- before an action ----------------------------------------------------------

    def preflight(self, need: int = 0) -> None:
        """Refuse (before the server is touched) when the journal cannot be written:
        the state dir is missing and cannot be created, is not a folder, is read-only,
        or its filesystem is (nearly) full."""
        folder = self.path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise Refused(f"state dir {folder} is not a folder; nothing was changed") from None
        except OSError as exc:
            raise Refused(
                f"state dir {folder} cannot be created ({exc.strerror or exc}); nothing was changed"
            ) from None
        try:
            st = os.stat(folder)
        except OSError as exc:
            raise Refused(
                f"state dir {folder}: {exc.strerror or exc}; nothing was changed"
            ) from None
        if not stat.S_ISDIR(st.st_mode):
            raise Refused(f"state dir {folder} is not a folder; nothing was changed")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise Refused(f"state dir {folder} is read-only; nothing was changed")
        with contextlib.suppress(FileNotFoundError):
            jst = os.lstat(self.path)
            if not stat.S_ISREG(jst.st_mode):
                raise Refused(f"journal {self.path} is not a regular file; nothing was changed")
            if not os.access(self.path, os.W_OK):
                raise Refused(f"journal {self.path} is read-only; nothing was changed")
        try:
            vfs = os.statvfs(folder)
        except OSError:
            return
        free = vfs.f_bavail * vfs.f_frsize
        if free < need + MIN_FREE:
            raise Refused(
                f"disk full: {free:,} bytes free in {folder}, the journal needs"
                f" {need + MIN_FREE:,}; nothing was changed"
            )

    # --- writing -------------------------------------------------------------------

    def append(self, records: Iterable[dict[str, Any]]) -> None:
        """Append ``records`` (one line each) and fsync. Raises OSError (ENOSPC, EROFS)."""
        data = b"".join(
            (json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
            for r in records
        )
        if not data:
            return
        fd = os.open(self.path, _FLAGS, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                data = b"\n" + data  # a torn last line stays alone on its line
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                if n <= 0:
                    raise OSError(errno.EIO, "short write to the journal")
                view = view[n:]
            os.fsync(fd)
        finally:
            os.close(fd)

    # --- reading -------------------------------------------------------------------

    def read(self) -> JournalView:
        view = JournalView()
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            return view
        except OSError as exc:
            raise Refused(f"journal {self.path}: {exc.strerror or exc}") from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise Refused(f"journal {self.path} is not a regular file")
            with os.fdopen(fd, "rb", closefd=False) as fh:
                raw = fh.read()
        finally:
            os.close(fd)
        merged: dict[str, dict[str, Any]] = {}
        for n, line in enumerate(raw.split(b"\n"), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line.decode("utf-8"))
            except ValueError:
                view.damaged.append(n)
                continue
            if not isinstance(rec, dict) or not isinstance(rec.get("id"), str):
                view.damaged.append(n)
                continue
            _merge(merged, rec)
        view.entries = [_finish(e) for e in merged.values()]
        return view


def _merge(merged: dict[str, dict[str, Any]], rec: dict[str, Any]) -> None:
    kind = rec.get("kind")
    jid = rec["id"]
    if kind is None:  # a one-line entry (older iwtui)
        entry = dict(rec)
        entry.setdefault("state", "complete")
        merged[jid] = entry
        return
    if kind == "plan":
        entry = {k: v for k, v in rec.items() if k != "kind"}
        entry.update(done=[], gone=[], taken=[], failed={}, undo=[], steps=0, state="running")
        entry["_seen"] = set()
        merged[jid] = entry
        return
    found = merged.get(jid)
    if found is None or "_seen" not in found:
        return  # steps of an unknown plan: nothing to attach them to
    entry = found
    if kind == "steps":
        for r in rec.get("results", ()):
            if not isinstance(r, dict):
                continue
            target, status = str(r.get("t", "")), r.get("s")
            entry["_seen"].add(target)
            entry["steps"] += 1
            if status == "failed":
                entry["failed"][target] = r.get("d", "")
            elif status in ("done", "gone", "taken"):
                entry[status].append(target)
            undo = r.get("u")
            if entry.get("undoable") and isinstance(undo, list):
                entry["undo"].extend(u for u in undo if isinstance(u, dict))
    elif kind == "end":
        entry["_ended"] = True
        entry["state"] = "interrupted" if rec.get("interrupted") else "complete"
        if rec.get("stopped"):
            entry["stopped"] = rec["stopped"]


def _finish(entry: dict[str, Any]) -> dict[str, Any]:
    seen = entry.pop("_seen", None)
    if seen is None:
        return entry
    if entry.get("state") == "running" and not _alive(entry.get("pid")):
        entry["state"] = "interrupted"  # killed: no end line will ever come
    # A killed action has no end line. Steps run in the plan's order and are journaled
    # at least every ``batch`` steps, so only the first ``batch`` targets without a step
    # line can have been acted on (in flight, or done but not yet journaled): their
    # intended undo records are kept as tentative, and undo looks for each file where
    # the step would have put it. (With an end line, every step taken was journaled.)
    if not entry.pop("_ended", False) and entry.get("undoable"):
        intent = entry.get("intent") or {}
        batch = entry.get("batch")
        limit = batch if isinstance(batch, int) and batch > 0 else 256
        unseen = [t for t in entry.get("targets", ()) if t not in seen][:limit]
        entry["pending"] = [
            {**rec, "tentative": True}
            for t in unseen
            for rec in intent.get(t, ())
            if isinstance(rec, dict)
        ]
    entry.pop("intent", None)
    return entry


def _alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True

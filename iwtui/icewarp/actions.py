"""The one gate for every write: read-only check, a frozen plan, the journal, undo.

A caller (CLI or TUI) builds a :class:`Plan` from the ids the user saw (a frozen snapshot,
never "whatever is under the cursor now"), shows ``plan.summary`` with its count, and on
consent calls :meth:`ActionGate.execute`. The gate refuses in read-only mode, runs the
plan's steps, and appends one journal line per action (time, user, action, ids, the
equivalent CLI command, what happened, how to undo it).

Undo is data, not code: each step records undo records such as
``{"op": "move", "from": trash_path, "to": original_path}``; :meth:`ActionGate.undo`
replays them through handlers registered per ``op``. Deleting mail is always a move to
iwtui's trash, never an unlink in place.
"""

from __future__ import annotations

import contextlib
import errno
import getpass
import json
import os
import shlex
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from iwtui.errors import BadInput, Refused

UndoRecord = dict[str, Any]


class Gone(Exception):
    """The target vanished before we acted: for queue files, "already delivered"."""


@dataclass
class StepResult:
    """What one step did to one target."""

    target: str
    status: str  # "done", "gone", "failed"
    detail: str = ""
    undo: list[UndoRecord] = field(default_factory=list)


@dataclass(frozen=True)
class Plan:
    """A write the user agreed to, on a frozen snapshot of target ids.

    ``step`` is called once per target and returns a :class:`StepResult` (or raises
    :class:`Gone` / ``OSError``, which the gate records per target).
    """

    action: str
    targets: tuple[str, ...]
    summary: str
    cli: str
    step: Callable[[str], StepResult]
    undoable: bool = False

    @property
    def count(self) -> int:
        return len(self.targets)


@dataclass
class Outcome:
    journal_id: str
    action: str
    results: list[StepResult]

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def done(self) -> int:
        return self.count("done")

    @property
    def gone(self) -> int:
        return self.count("gone")

    @property
    def failed(self) -> int:
        return self.count("failed")

    @property
    def complete(self) -> bool:
        return self.failed == 0

    def message(self, gone_word: str = "already gone") -> str:
        parts = [f"{self.done} done"]
        if self.gone:
            parts.append(f"{self.gone} {gone_word}")
        if self.failed:
            first = next(r for r in self.results if r.status == "failed")
            parts.append(f"{self.failed} failed ({first.target}: {first.detail})")
        return f"{self.action}: " + ", ".join(parts)


# --- file primitives -------------------------------------------------------------------


def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` through a temp file in the same folder, fsync, rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".iwtui-tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def move_file(src: Path, dst: Path) -> None:
    """Move ``src`` to ``dst`` without ever losing it.

    Same filesystem: one rename. Across filesystems: copy to a temp name beside ``dst``,
    fsync, rename into place, then remove the source. Raises :class:`Gone` when ``src``
    vanished first, ``FileExistsError`` rather than overwrite ``dst``.
    """
    if dst.exists():
        raise FileExistsError(errno.EEXIST, "destination exists", str(dst))
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(src, dst)
    except FileNotFoundError as exc:
        if not src.exists():
            raise Gone(str(src)) from exc
        raise
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        tmp = dst.with_name(f".{dst.name}.iwtui-tmp")
        try:
            shutil.copy2(src, tmp)
        except FileNotFoundError as exc2:
            raise Gone(str(src)) from exc2
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.rename(tmp, dst)
        fsync_dir(dst.parent)
        os.unlink(src)
    fsync_dir(dst.parent)
    fsync_dir(src.parent)


# --- the gate --------------------------------------------------------------------------

UndoHandler = Callable[[UndoRecord], None]
_UNDO_HANDLERS: dict[str, UndoHandler] = {}


def register_undo(op: str) -> Callable[[UndoHandler], UndoHandler]:
    def deco(fn: UndoHandler) -> UndoHandler:
        _UNDO_HANDLERS[op] = fn
        return fn

    return deco


@register_undo("move")
def _undo_move(record: UndoRecord) -> None:
    move_file(Path(record["from"]), Path(record["to"]))


class ActionGate:
    """Every write of iwtui passes here."""

    def __init__(self, state_dir: Path, *, read_only: bool, user: str | None = None) -> None:
        self.state_dir = state_dir
        self.read_only = read_only
        self.user = user or _current_user()
        self._lock = threading.Lock()

    @property
    def journal_path(self) -> Path:
        return self.state_dir / "journal.jsonl"

    def trash_dir(self, area: str, when: datetime | None = None) -> Path:
        day = (when or datetime.now()).strftime("%Y-%m-%d")
        return self.state_dir / "trash" / day / area

    def check(self, action: str = "this action") -> None:
        """Raise :class:`Refused` when writes are not allowed."""
        if self.read_only:
            raise Refused(f"read-only mode: {action} refused (nothing was changed)")

    def execute(self, plan: Plan, *, journal_extra: dict[str, Any] | None = None) -> Outcome:
        self.check(plan.action)
        if not plan.targets:
            raise BadInput(f"{plan.action}: nothing selected")
        journal_id = f"{datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
        results: list[StepResult] = []
        for target in plan.targets:
            try:
                result = plan.step(target)
            except Gone as exc:
                result = StepResult(target, "gone", str(exc))
            except (OSError, ValueError) as exc:
                result = StepResult(target, "failed", _one_line(exc))
            results.append(result)
        outcome = Outcome(journal_id, plan.action, results)
        undo = [rec for r in results for rec in r.undo]
        self._append(
            {
                "id": journal_id,
                "time": datetime.now().isoformat(timespec="seconds"),
                "user": self.user,
                "action": plan.action,
                "summary": plan.summary,
                "cli": plan.cli,
                "targets": list(plan.targets),
                "done": [r.target for r in results if r.status == "done"],
                "gone": [r.target for r in results if r.status == "gone"],
                "failed": {r.target: r.detail for r in results if r.status == "failed"},
                "undo": undo if plan.undoable else [],
                **(journal_extra or {}),
            }
        )
        return outcome

    def entries(self) -> list[dict[str, Any]]:
        """Journal lines, oldest first; a damaged line is skipped, not fatal."""
        try:
            raw = self.journal_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        out: list[dict[str, Any]] = []
        for line in raw.splitlines():
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if isinstance(entry, dict) and "id" in entry:
                    out.append(entry)
        return out

    def undoable(self) -> list[dict[str, Any]]:
        """Entries with undo records that have not been undone yet, newest last."""
        entries = self.entries()
        undone = {e.get("undoes") for e in entries if e.get("action") == "undo"}
        return [e for e in entries if e.get("undo") and e["id"] not in undone]

    def undo(self, journal_id: str | None = None) -> Outcome:
        """Replay the undo records of one journal entry (default: the newest undoable)."""
        self.check("undo")
        candidates = self.undoable()
        if journal_id is None:
            if not candidates:
                raise Refused("nothing to undo")
            entry = candidates[-1]
        else:
            matches = [e for e in candidates if e["id"] == journal_id]
            if not matches:
                raise BadInput(f"no undoable journal entry {journal_id!r}")
            entry = matches[0]
        records: Sequence[UndoRecord] = list(reversed(entry["undo"]))

        def step(index: str) -> StepResult:
            rec = records[int(index)]
            handler = _UNDO_HANDLERS.get(str(rec.get("op")))
            if handler is None:
                return StepResult(index, "failed", f"unknown undo op {rec.get('op')!r}")
            handler(rec)
            return StepResult(str(rec.get("to", index)), "done")

        plan = Plan(
            action="undo",
            targets=tuple(str(i) for i in range(len(records))),
            summary=f"Undo {entry['action']} ({len(records)} item(s))",
            cli=f"iwtui undo {entry['id']}",
            step=step,
        )
        return self.execute(plan, journal_extra={"undoes": entry["id"]})

    # --- journal I/O -------------------------------------------------------------------

    def _append(self, entry: dict[str, Any]) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        line = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock:
            fd = os.open(self.journal_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)


def _current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def trash_step(gate: ActionGate, area: str, paths: dict[str, Path]) -> Callable[[str], StepResult]:
    """A plan step that moves each target's file to the trash and records its undo."""

    def step(target: str) -> StepResult:
        src = paths[target]
        dst = gate.trash_dir(area) / src.name
        n = 1
        while dst.exists():
            dst = dst.with_name(f"{src.name}.{n}")
            n += 1
        move_file(src, dst)
        return StepResult(
            target, "done", str(dst), [{"op": "move", "from": str(dst), "to": str(src)}]
        )

    return step


def cli_line(words: str, root: Path | None) -> str:
    """The equivalent command of a plan: ``iwtui [--root R] WORDS --yes``."""
    where = f" --root {shlex.quote(str(root))}" if root else ""
    return f"iwtui{where} {words} --yes"


def targets_of(ids: Iterable[str]) -> tuple[str, ...]:
    """Freeze a selection: unique ids, in the order the user saw them."""
    return tuple(dict.fromkeys(ids))

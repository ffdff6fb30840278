"""The one gate for every write: read-only check, a frozen plan, the journal, undo.

A caller (CLI or TUI) builds a :class:`Plan` from the ids the user saw (a frozen snapshot,
never "whatever is under the cursor now"), shows ``plan.summary`` with its count, and on
consent calls :meth:`ActionGate.execute`. The gate refuses in read-only mode or when the
journal cannot be written (missing or read-only state dir, disk full), writes the plan
*ahead* into the journal (``iwtui.icewarp.journal``), runs the steps, journals what they
did batch by batch, and closes the action with a final line. A stop request (SIGINT,
SIGTERM) ends the action after the current step.

Undo is data, not code: each step records undo records such as
``{"op": "move", "from": trash_path, "to": original_path}``; :meth:`ActionGate.undo`
replays them through handlers registered per ``op``, only on paths inside the install and
the state dir. Deleting mail is always a move to iwtui's trash, never an unlink in place.
"""

from __future__ import annotations

import errno
import getpass
import json
import os
import shlex
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iwtui.errors import BadInput, IwtuiError, Refused
from iwtui.icewarp import files
from iwtui.icewarp.files import Unsafe
from iwtui.icewarp.journal import Journal, JournalView
from iwtui.icewarp.moves import (
    Gone,
    Taken,
    atomic_write,
    claim,
    claim_path,
    fsync_dir,
    move_file,
    unclaim,
)

if TYPE_CHECKING:
    from iwtui.icewarp.install import Install

__all__ = ["Gone", "Taken", "atomic_write", "fsync_dir", "move_file"]

UndoRecord = dict[str, Any]
FLUSH_S = 0.5  # journal the steps done at least this often
_STOP_ERRNOS = (errno.ENOSPC, errno.EROFS, errno.EDQUOT)
_PATH_FIELDS = ("from", "to", "file", "db")
SHOWN_ITEMS = 5  # items a confirmation lists before "and N more"


@dataclass
class StepResult:
    """What one step did to one target."""

    target: str
    status: str  # "done", "gone", "taken", "failed", "skipped"
    detail: str = ""
    undo: list[UndoRecord] = field(default_factory=list)


@dataclass(frozen=True)
class Plan:
    """A write the user agreed to, on a frozen snapshot of target ids.

    ``step`` is called once per target and returns a :class:`StepResult` (or raises
    :class:`Gone` / :class:`Taken` / ``OSError`` / :class:`Unsafe`, which the gate
    records per target). ``intent`` holds, per target, the undo records its step would
    produce (where each file will go): written ahead, they let undo find what an
    interrupted step did before it was journaled. ``batch``: steps per journal line.
    ``describe``: a target as the user knows it (sender, IP, subject), for the
    confirmation's list of items (called only for the items shown).
    """

    action: str
    targets: tuple[str, ...]
    summary: str
    cli: str
    step: Callable[[str], StepResult]
    undoable: bool = False
    intent: Mapping[str, Sequence[UndoRecord]] = field(default_factory=dict)
    batch: int = 256
    describe: Callable[[str], str] | None = None

    @property
    def count(self) -> int:
        return len(self.targets)

    def label(self, target: str) -> str:
        if self.describe is None:
            return target
        try:
            return self.describe(target) or target
        except (OSError, ValueError, KeyError, IwtuiError):
            return target

    def items(self, shown: int = SHOWN_ITEMS) -> list[str]:
        """The first ``shown`` items by their labels, then ``and N more``: what a
        confirmation lists, so the user sees what the action will touch."""
        out = [self.label(t) for t in self.targets[:shown]]
        if len(self.targets) > shown:
            out.append(f"and {len(self.targets) - shown:,} more")
        return out


@dataclass
class Outcome:
    journal_id: str
    action: str
    results: list[StepResult]
    total: int = 0
    interrupted: bool = False
    stopped: str = ""  # why the action stopped early (disk full, journal not writable)

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def done(self) -> int:
        return self.count("done")

    @property
    def gone(self) -> int:
        return self.count("gone")

    @property
    def taken(self) -> int:
        return self.count("taken")

    @property
    def failed(self) -> int:
        return self.count("failed")

    @property
    def complete(self) -> bool:
        return self.failed == 0 and not self.interrupted and not self.stopped

    def message(self, gone_word: str = "already gone") -> str:
        parts = [f"{self.done} done"]
        if self.gone:
            parts.append(f"{self.gone} {gone_word}")
        if self.taken:
            parts.append(f"{self.taken} already taken")
        if self.count("skipped"):
            parts.append(f"{self.count('skipped')} not done before the interruption")
        if self.failed:
            first = next(r for r in self.results if r.status == "failed")
            parts.append(f"{self.failed} failed ({first.target}: {first.detail})")
        if self.stopped:
            left = max(0, self.total - len(self.results))
            parts.append(f"stopped: {self.stopped}; {left} not attempted")
        return f"{self.action}: " + ", ".join(parts)

    def interrupted_message(self) -> str:
        return (
            f"interrupted: {self.done} of {self.total} done; "
            f"undo with: iwtui undo {self.journal_id}"
        )


# --- undo handlers ---------------------------------------------------------------------

UndoHandler = Callable[[UndoRecord], None]
_UNDO_HANDLERS: dict[str, UndoHandler] = {}


class NothingToRestore(Exception):
    """A tentative undo record found nothing: that step had not happened."""


def register_undo(op: str) -> Callable[[UndoHandler], UndoHandler]:
    def deco(fn: UndoHandler) -> UndoHandler:
        _UNDO_HANDLERS[op] = fn
        return fn

    return deco


@register_undo("move")
def _undo_move(record: UndoRecord) -> None:
    src, dst = Path(record["from"]), Path(record["to"])
    if record.get("tentative") and not os.path.lexists(src):
        raise NothingToRestore(str(src))  # that step had not happened
    try:
        move_file(src, dst)
    except Gone:
        if record.get("tentative"):
            raise NothingToRestore(str(src)) from None
        raise


# --- the gate --------------------------------------------------------------------------


class ActionGate:
    """Every write of iwtui passes here. ``roots``: the folders of the install an undo
    may touch (besides the state dir)."""

    def __init__(
        self,
        state_dir: Path,
        *,
        read_only: bool,
        user: str | None = None,
        roots: Sequence[Path] = (),
    ) -> None:
        self.state_dir = state_dir
        self.read_only = read_only
        self.user = user or _current_user()
        self.roots = tuple(roots)
        self.journal = Journal(state_dir / "journal.jsonl")
        self._lock = threading.Lock()

    @property
    def journal_path(self) -> Path:
        return self.journal.path

    def trash_dir(self, area: str, when: datetime | None = None) -> Path:
        day = (when or datetime.now()).strftime("%Y-%m-%d")
        return self.state_dir / "trash" / day / area

    def check(self, action: str = "this action") -> None:
        """Raise :class:`Refused` when writes are not allowed."""
        if self.read_only:
            raise Refused(f"read-only mode: {action} refused (nothing was changed)")

    def execute(
        self,
        plan: Plan,
        *,
        journal_extra: dict[str, Any] | None = None,
        stop: threading.Event | None = None,
    ) -> Outcome:
        """Run ``plan``: journal it ahead, run its steps (until ``stop`` is set), journal
        each batch, close it. Refused, with nothing changed, when the journal cannot be
        written."""
        self.check(plan.action)
        if not plan.targets:
            raise BadInput(f"{plan.action}: nothing selected")
        journal_id = f"{datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
        head = {
            "kind": "plan",
            "id": journal_id,
            "time": datetime.now().isoformat(timespec="seconds"),
            "user": self.user,
            "pid": os.getpid(),
            "action": plan.action,
            "summary": plan.summary,
            "cli": plan.cli,
            "targets": list(plan.targets),
            "undoable": plan.undoable,
            "batch": plan.batch,
            "intent": {t: list(r) for t, r in plan.intent.items()} if plan.undoable else {},
            **(journal_extra or {}),
        }
        need = 2 * len(json.dumps(head, ensure_ascii=False))
        with self._lock:
            self.journal.preflight(need)
            try:
                self.journal.append([head])
            except OSError as exc:
                raise Refused(
                    f"cannot write the journal {self.journal.path}: "
                    f"{exc.strerror or exc}; nothing was changed"
                ) from None
        outcome = Outcome(journal_id, plan.action, [], total=plan.count)
        batch: list[StepResult] = []
        last = time.monotonic()

        def flush() -> None:
            nonlocal last
            if batch:
                lines = [{"t": r.target, "s": r.status, "d": r.detail,
                          **({"u": r.undo} if plan.undoable and r.undo else {})} for r in batch]  # fmt: skip
                batch.clear()
                self.journal.append([{"kind": "steps", "id": journal_id, "results": lines}])
            last = time.monotonic()

        try:
            for target in plan.targets:
                if stop is not None and stop.is_set():
                    outcome.interrupted = True
                    break
                result = _run_step(plan, target)
                outcome.results.append(result)
                batch.append(result)
                if result.status == "failed" and result.detail.startswith("stop: "):
                    result.detail = result.detail[6:]
                    outcome.stopped = result.detail
                try:
                    if len(batch) >= plan.batch or time.monotonic() - last >= FLUSH_S:
                        flush()
                except OSError as exc:
                    outcome.stopped = f"cannot write the journal: {exc.strerror or exc}"
                if outcome.stopped:
                    break
        except BaseException:  # KeyboardInterrupt inside a step: journal, then re-raise
            outcome.interrupted = True
            self._close(journal_id, outcome, flush)
            raise
        self._close(journal_id, outcome, flush)
        return outcome

    def _close(self, journal_id: str, outcome: Outcome, flush: Callable[[], None]) -> None:
        try:
            flush()
            end = {"kind": "end", "id": journal_id, "interrupted": outcome.interrupted,
                   "done": outcome.done, "total": outcome.total}  # fmt: skip
            if outcome.stopped:
                end["stopped"] = outcome.stopped
            self.journal.append([end])
        except OSError as exc:
            if not outcome.stopped:
                outcome.stopped = f"cannot write the journal: {exc.strerror or exc}"

    # --- reading the journal -----------------------------------------------------------

    def view(self) -> JournalView:
        return self.journal.read()

    def entries(self) -> list[dict[str, Any]]:
        """Journal entries, oldest first; a damaged line is skipped, not fatal."""
        return self.view().entries

    def undoable(self, entries: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """Entries with something to undo that have not been undone yet, newest last."""
        entries = self.entries() if entries is None else entries
        # an undo that failed on every record (install gone, refused paths) undid
        # nothing: the action stays undoable
        undone = {e.get("undoes") for e in entries if e.get("action") == "undo"
                  and (e.get("done") or not e.get("failed"))}  # fmt: skip
        return [
            e
            for e in entries
            if (e.get("undo") or e.get("pending"))
            and e["id"] not in undone
            and e.get("state") != "running"
        ]

    def find_undoable(self, journal_id: str | None = None) -> dict[str, Any]:
        candidates = self.undoable()
        if journal_id is None:
            if not candidates:
                raise Refused("nothing to undo")
            return candidates[-1]
        for e in candidates:
            if e["id"] == journal_id:
                return e
        raise BadInput(f"no undoable journal entry {journal_id!r}")

    def undo_records(self, entry: Mapping[str, Any]) -> list[UndoRecord]:
        """What undoing ``entry`` replays, in order: the journaled records newest first,
        then (for an interrupted action) the tentative records of its unjournaled steps."""
        done = [r for r in entry.get("undo", ()) if isinstance(r, dict)]
        return list(reversed(done)) + [
            r for r in reversed(entry.get("pending", ())) if isinstance(r, dict)
        ]

    def allowed_roots(self, roots: Sequence[Path] | None = None) -> list[Path]:
        return [self.state_dir, *(self.roots if roots is None else roots)]

    def check_record(self, record: Mapping[str, Any], roots: Sequence[Path]) -> None:
        """Refuse a record naming a path outside the install and the state dir (a
        planted journal line), or through a symlink below them."""
        for key in _PATH_FIELDS:
            value = record.get(key)
            if value is None:
                continue
            if not isinstance(value, str) or not value:
                raise Unsafe(f"refused undo record: bad {key!r}")
            errors = []
            for root in roots:
                try:
                    files.within(root, Path(value), what=f"undo {key}")
                    break
                except Unsafe as exc:
                    errors.append(str(exc))
            else:
                why = next((e for e in errors if "symbolic" in e), None)
                raise Unsafe(why or f"refused undo {key} {value}: outside the install and the state dir")  # fmt: skip

    def check_roots_exist(self, records: Sequence[UndoRecord], roots: Sequence[Path]) -> None:
        """Refuse, before anything is touched, an undo whose files belong to a folder that
        is gone (a removed install, a demo's deleted folder): putting them back would
        create an empty tree there."""
        for rec in records:
            for key in ("to", "file", "db"):
                value = rec.get(key)
                if not isinstance(value, str) or not value:
                    continue
                homes = [r for r in roots if Path(os.path.normpath(value)).is_relative_to(r)]
                if homes and not any(r.is_dir() for r in homes):
                    raise Refused(
                        f"undo: {max(homes, key=lambda r: len(r.parts))} is gone "
                        f"(removed install?); nothing was undone"
                    )

    def undo(
        self,
        journal_id: str | None = None,
        *,
        roots: Sequence[Path] | None = None,
        stop: threading.Event | None = None,
    ) -> Outcome:
        """Replay the undo records of one journal entry (default: the newest undoable)."""
        self.check("undo")
        entry = self.find_undoable(journal_id)
        records = self.undo_records(entry)
        allowed = self.allowed_roots(roots)
        self.check_roots_exist(records, allowed)

        def step(index: str) -> StepResult:
            rec = records[int(index)]
            handler = _UNDO_HANDLERS.get(str(rec.get("op")))
            if handler is None:
                return StepResult(index, "failed", f"unknown undo op {rec.get('op')!r}")
            where = str(rec.get("to") or rec.get("file") or rec.get("db") or index)
            self.check_record(rec, allowed)
            try:
                handler(rec)
            except NothingToRestore:
                return StepResult(where, "skipped", "not done before the interruption")
            return StepResult(where, "done")

        plan = Plan(
            action="undo",
            targets=tuple(str(i) for i in range(len(records))),
            summary=f"Undo {entry['action']} ({len(records)} item(s))",
            cli=f"iwtui undo {entry['id']}",
            step=step,
        )
        return self.execute(plan, journal_extra={"undoes": entry["id"]}, stop=stop)


def describe_record(rec: Mapping[str, Any]) -> str:
    """One undo record as a line of the undo's confirmation: ``move: A -> B``."""
    if "to" in rec:  # the name first: the folders are long
        to = Path(str(rec["to"]))
        where = f"{to.name} back to {to.parent}/ (from {rec.get('from', '?')})"
    else:
        where = str(rec.get("file") or rec.get("db", ""))
    extra = f" (row {rec['rowid']})" if "rowid" in rec else ""
    mark = " (if it was done)" if rec.get("tentative") else ""
    return f"{rec.get('op', '?')}: {where}{extra}{mark}"


def _run_step(plan: Plan, target: str) -> StepResult:
    try:
        return plan.step(target)
    except Taken as exc:
        return StepResult(target, "taken", str(exc))
    except Gone as exc:
        return StepResult(target, "gone", str(exc))
    except OSError as exc:
        text = _one_line(exc)
        if exc.errno in _STOP_ERRNOS:  # the next steps would fail the same way
            return StepResult(target, "failed", f"stop: {text}")
        return StepResult(target, "failed", text)
    except (IwtuiError, ValueError) as exc:
        return StepResult(target, "failed", _one_line(exc))


def _current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())


# --- moving targets to the trash, by claim ---------------------------------------------


def trash_rel(src: Path, base: Path | None) -> Path:
    """Where under ``<trash>/<date>/<area>/`` a file of ``src``'s folder goes: the folder
    relative to the install (``mail/_outgoing/retry``), else its absolute path."""
    folder = Path(os.path.normpath(src.parent))
    if base is not None:
        try:
            return folder.relative_to(os.path.normpath(base))
        except ValueError:
            pass
    return Path("_abs", *folder.parts[1:])


class TrashMover:
    """Moves each target's file to ``<state>/trash/<date>/<area>/<folder>/<name>`` by
    claim first; knows ahead where each file will go (the plan's ``intent``)."""

    def __init__(
        self,
        gate: ActionGate,
        area: str,
        paths: Mapping[str, Path],
        *,
        base: Path | None = None,
        expect: Mapping[str, int] | None = None,
    ) -> None:
        self.paths = dict(paths)
        self.expect = dict(expect or {})
        trash = gate.trash_dir(area)
        chosen: set[Path] = set()
        self.dst: dict[str, Path] = {}
        for target, src in self.paths.items():
            dst = _free(trash / trash_rel(src, base) / src.name, chosen)
            chosen.add(dst)
            self.dst[target] = dst

    def intent(self) -> dict[str, list[UndoRecord]]:
        return {
            t: [
                {"op": "move", "from": str(self.dst[t]), "to": str(src)},
                {"op": "move", "from": str(claim_path(src)), "to": str(src)},
            ]
            for t, src in self.paths.items()
        }

    def move_claimed(self, target: str, held: Path) -> Path:
        """Move an already claimed file to its trash place; its final path."""
        dst = self.dst[target]
        if os.path.lexists(dst):
            dst = _free(dst, set())
        move_file(held, dst)
        return dst

    def step(self, target: str) -> StepResult:
        src = self.paths[target]
        held = claim(src, self.expect.get(target))
        try:
            dst = self.move_claimed(target, held)
        except BaseException:
            unclaim(held, src)
            raise
        return StepResult(
            target, "done", str(dst), [{"op": "move", "from": str(dst), "to": str(src)}]
        )


def _free(path: Path, taken: set[Path]) -> Path:
    out, n = path, 1
    while out in taken or os.path.lexists(out):
        out = path.with_name(f"{path.name}.{n}")
        n += 1
    return out


def trash_step(
    gate: ActionGate, area: str, paths: dict[str, Path], *, base: Path | None = None
) -> Callable[[str], StepResult]:
    """A plan step that moves each target's file to the trash and records its undo."""
    return TrashMover(gate, area, paths, base=base).step


def install_roots(install: Install) -> list[Path]:
    """The folders of an install that iwtui writes to (path.dat may move them out of
    the root): what undo may touch, besides the state dir."""
    out: list[Path] = []
    for p in (install.root, install.mail_dir, install.log_dir, install.config_dir,
              install.spam_dir, install.outgoing_dir, install.retry_dir,
              install.incoming_dir, install.sms_dir):  # fmt: skip
        if p not in out:
            out.append(p)
    return out


def cli_line(words: str, root: Path | None) -> str:
    """The equivalent command of a plan: ``iwtui [--root R] WORDS --yes``."""
    where = f" --root {shlex.quote(str(root))}" if root else ""
    return f"iwtui{where} {words} --yes"


def targets_of(ids: Iterable[str]) -> tuple[str, ...]:
    """Freeze a selection: unique ids, in the order the user saw them."""
    return tuple(dict.fromkeys(ids))

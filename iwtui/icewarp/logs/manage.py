"""Writes on logs, all through the action gate: delete a day's files (to iwtui's trash,
undoable) and save lines to a file (atomic: a temp file renamed into place)."""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from pathlib import Path

from iwtui.icewarp.actions import ActionGate, Plan, TrashMover, atomic_write, targets_of
from iwtui.icewarp.logs.catalog import LogDay


def delete_plan(gate: ActionGate, day: LogDay, root: Path | None = None) -> Plan:
    paths = {str(f.path): f.path for f in day.files}
    root_arg = f" --root {shlex.quote(str(root))}" if root is not None else ""
    size = sum(f.size for f in day.files)
    # claimed, then moved to <state>/trash/<date>/logs/<log folder under the install>/
    mover = TrashMover(gate, "logs", paths, base=root)
    return Plan(
        action="logs delete",
        targets=targets_of(paths),
        summary=f"Move the {day.service} log of {day.day} ({len(paths)} file(s), {size:,} bytes) to iwtui's trash",
        cli=f"iwtui logs delete{root_arg} --service {shlex.quote(day.service)} --date {day.day.isoformat()} --yes",
        step=mover.step,
        undoable=True,
        intent=mover.intent(),
    )


def save_lines(lines: Iterable[str], dest: Path) -> int:
    """Write ``lines`` to ``dest`` atomically; the number of lines written."""
    n = 0

    def body() -> Iterable[bytes]:
        nonlocal n
        for line in lines:
            n += 1
            yield line.encode("utf-8", errors="surrogateescape") + b"\n"

    atomic_write(dest, b"".join(body()))
    return n

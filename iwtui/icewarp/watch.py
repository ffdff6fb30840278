"""File watchers: watchfiles events turned into the set of areas that changed.

Folders are watched, never single files (a watch on a file can stop after an atomic
replace). Only the folders that change while IceWarp works are watched: the queues, the
spam folder, the config folder and the logs; never the whole mail store, which on a big
server holds more folders than inotify allows.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncIterator
from pathlib import Path

from iwtui.icewarp.install import Install


class Area(enum.StrEnum):
    QUEUES = "queues"
    SPAM = "spam"
    TARPIT = "tarpit"
    CONFIG = "config"
    LOGS = "logs"


def _folders(inst: Install) -> list[tuple[Path, Area]]:
    return [
        (inst.outgoing_dir, Area.QUEUES),
        (inst.retry_dir, Area.QUEUES),
        (inst.incoming_dir, Area.QUEUES),
        (inst.sms_dir, Area.QUEUES),
        (inst.spam_dir, Area.SPAM),
        (inst.config_dir, Area.CONFIG),
        (inst.log_dir, Area.LOGS),
    ]


def targets(inst: Install) -> dict[Path, Area]:
    """Folder -> area, existing folders only, without folders nested in another target."""
    out: dict[Path, Area] = {}
    for path, area in _folders(inst):
        if not path.is_dir():
            continue
        if any(path == p or p in path.parents for p in out):
            continue
        out[path] = area
    return out


def classify(inst: Install, changed: Path) -> Area | None:
    """The area a changed path belongs to (the most specific folder wins)."""
    if changed.name == "tarpit.dat" and changed.parent == inst.config_dir:
        return Area.TARPIT
    if changed.name.startswith(".") and changed.name.endswith(".iwtui-tmp"):
        return None  # our own temp file before its rename
    best: tuple[int, Area] | None = None
    for folder, area in _folders(inst):
        if changed == folder or folder in changed.parents:
            depth = len(folder.parts)
            if best is None or depth > best[0]:
                best = (depth, area)
    return best[1] if best else None


async def watch(
    inst: Install, stop: asyncio.Event, debounce_ms: int = 250
) -> AsyncIterator[set[Area]]:
    """Yield the set of changed areas, coalesced over ``debounce_ms``."""
    from watchfiles import awatch  # imported late: only live views need it

    folders = list(targets(inst))
    if not folders:
        return
    async for changes in awatch(
        *folders,
        stop_event=stop,
        debounce=debounce_ms,
        step=50,
        recursive=True,
        rust_timeout=500,
        yield_on_timeout=False,
    ):
        areas = {a for _kind, p in changes if (a := classify(inst, Path(p))) is not None}
        if areas:
            yield areas

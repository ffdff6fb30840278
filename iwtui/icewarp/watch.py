"""File watchers: watchfiles events turned into the set of areas that changed.

Folders are watched, never single files (a watch on a file can stop after an atomic
replace). Only the folders that change while IceWarp works are watched: the queues, the
spam folder, the config folder and the logs; never the whole mail store, which on a big
server holds more folders than inotify allows.
"""

from __future__ import annotations

import asyncio
import enum
import os
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


class Classifier:
    """The area a changed path belongs to (the most specific folder wins), on the path's
    text: a busy server sends hundreds of events a second, and ``Path.parents`` built a
    path object per level of each one."""

    def __init__(self, inst: Install) -> None:
        folders = [(os.path.normpath(str(p)), a) for p, a in _folders(inst)]
        # the deepest folder first: the first prefix that matches is the most specific
        self._folders = sorted(folders, key=lambda fa: fa[0].count(os.sep), reverse=True)
        self._tarpit = os.path.join(os.path.normpath(str(inst.config_dir)), "tarpit.dat")

    def __call__(self, changed: str) -> Area | None:
        changed = os.path.normpath(changed)
        if changed == self._tarpit:
            return Area.TARPIT
        name = changed.rpartition(os.sep)[2]
        if name.startswith(".") and name.endswith(".iwtui-tmp"):
            return None  # our own temp file before its rename
        for folder, area in self._folders:
            if changed == folder or changed.startswith(folder + os.sep):
                return area
        return None


def classify(inst: Install, changed: Path) -> Area | None:
    """The area a changed path belongs to (the most specific folder wins)."""
    return Classifier(inst)(str(changed))


async def watch(
    inst: Install, stop: asyncio.Event, debounce_ms: int = 1000, step_ms: int = 200
) -> AsyncIterator[set[Area]]:
    """Yield the set of changed areas: a change is yielded once no other came for
    ``step_ms``, a busy spell at most every ``debounce_ms`` (watchfiles merges the events
    of one path in between: a log appended 25 times a second is one event)."""
    from watchfiles import awatch  # imported late: only live views need it

    folders = list(targets(inst))
    if not folders:
        return
    area_of = Classifier(inst)
    async for changes in awatch(
        *folders,
        stop_event=stop,
        debounce=debounce_ms,
        step=step_ms,
        recursive=True,
        rust_timeout=500,
        yield_on_timeout=False,
    ):
        areas = {a for _kind, p in changes if (a := area_of(p)) is not None}
        if areas:
            yield areas

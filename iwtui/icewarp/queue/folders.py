"""Message queues (spec section 2): where each queue lives and how many items it holds.

The full scanner (headers, last error, actions) belongs to the Message Queue issue; this
module already owns the queue locations so every reader agrees on them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from iwtui.icewarp.install import Install

PRIORITIES = range(5)
QUEUE_NAMES = ("outgoing", "priority", "retry", "incoming", "mda", "sms")
QUEUE_TITLES = {
    "outgoing": "Outgoing",
    "priority": "Priority",
    "retry": "Retry",
    "incoming": "Incoming",
    "mda": "MDA",
    "sms": "SMS",
}


@dataclass(frozen=True)
class QueueSpot:
    """One folder of one queue, and which of its files belong to the queue."""

    queue: str
    folder: Path
    priority: int | None = None

    def accepts(self, name: str) -> bool:
        if name.startswith("."):
            return False  # our own temp files and editors' swap files
        if self.queue == "incoming":
            return name.endswith(".dat")
        if self.queue == "mda":
            return name.endswith(".tm$.tm$")
        return True


def spots(install: Install) -> list[QueueSpot]:
    """Every folder that holds queue items, by queue."""
    out = [QueueSpot("outgoing", install.outgoing_dir)]
    out += [QueueSpot("priority", install.priority_dir(n), n) for n in PRIORITIES]
    out += [
        QueueSpot("retry", install.retry_dir, 0),
        QueueSpot("incoming", install.incoming_dir),
        QueueSpot("mda", install.incoming_dir),
        QueueSpot("sms", install.sms_dir),
    ]
    return out


def iter_items(spot: QueueSpot) -> Iterator[os.DirEntry[str]]:
    """Regular files of one queue folder. A missing or vanishing folder yields nothing."""
    try:
        with os.scandir(spot.folder) as it:
            for entry in it:
                try:
                    if spot.accepts(entry.name) and entry.is_file(follow_symlinks=False):
                        yield entry
                except OSError:
                    continue  # vanished while we looked: normal in a live queue
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return


def counts(install: Install) -> dict[str, int]:
    """Items per queue; a folder that does not exist counts 0."""
    totals = dict.fromkeys(QUEUE_NAMES, 0)
    for spot in spots(install):
        totals[spot.queue] += sum(1 for _ in iter_items(spot))
    return totals

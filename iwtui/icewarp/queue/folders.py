"""Message queues (spec section 2): where each queue lives and how many items it holds.

The full scanner (headers, last error, actions) belongs to the Message Queue issue; this
module already owns the queue locations so every reader agrees on them.
"""

from __future__ import annotations

import os
import stat
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


_SUFFIX = {"incoming": ".dat", "mda": ".tm$.tm$"}  # the MDA queue shares incoming's folder


@dataclass(frozen=True)
class QueueSpot:
    """One folder of one queue, and which of its files belong to the queue."""

    queue: str
    folder: Path
    priority: int | None = None
    # the configured folder this one lies in (the mail store, the install root): the
    # folders between it and ``folder`` must not be symlinks
    base: Path | None = None

    @property
    def suffix(self) -> str | None:
        """The ending every file of this queue's folder has (None: any name; a name that
        starts with a dot is never one: our own temp files and editors' swap files)."""
        return _SUFFIX.get(self.queue)


def _base(install: Install, folder: Path) -> Path | None:
    """The configured folder ``folder`` lies in: the mail store, else the install root
    (where mail users' folders cannot reach; a link above them is the admin's)."""
    for base in (install.mail_dir, install.root):
        if folder != base and folder.is_relative_to(base):
            return base
    return None


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
    return [QueueSpot(s.queue, s.folder, s.priority, _base(install, s.folder)) for s in out]


def linked(folder: Path, base: Path | None = None) -> Path | None:
    """The first folder from ``base`` (excluded) down to ``folder`` (included) that is a
    symbolic link, or None. Without ``base`` only ``folder`` itself is looked at. A link
    is never followed: a ``priority_4`` that points at /etc must not list /etc."""
    parts = [folder]
    if base is not None and folder.is_relative_to(base):
        parts = [base.joinpath(*folder.relative_to(base).parts[:n])
                 for n in range(1, len(folder.relative_to(base).parts) + 1)]  # fmt: skip
    for p in parts:
        try:
            if stat.S_ISLNK(os.lstat(p).st_mode):
                return p
        except OSError:
            return None  # missing: nothing to follow
    return None


def linked_spots(install: Install) -> list[tuple[QueueSpot, Path]]:
    """Queue folders not read because they are (or lie below) a symbolic link."""
    out: list[tuple[QueueSpot, Path]] = []
    for spot in spots(install):
        link = linked(spot.folder, spot.base)
        if link is not None and spot.queue != "mda":  # mda shares incoming's folder
            out.append((spot, link))
    return out


def iter_items(spot: QueueSpot) -> Iterator[os.DirEntry[str]]:
    """Regular files of one queue folder. A missing or vanishing folder yields nothing;
    so does a folder that is a symbolic link (or lies below one under its base):
    links are not followed, ``doctor`` reports them."""
    if linked(spot.folder, spot.base) is not None:
        return
    suffix = spot.suffix  # (tested inline: a method call per file was 20% of the listing)
    try:
        with os.scandir(spot.folder) as it:
            for entry in it:
                name = entry.name
                if name[0] == "." or (suffix is not None and not name.endswith(suffix)):
                    continue
                try:
                    if entry.is_file(follow_symlinks=False):
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

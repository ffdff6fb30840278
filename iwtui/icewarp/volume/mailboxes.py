"""Files in each account's mailbox now (Account Statistics' Messages Count / Amount and
Created), counted by the Volume walker over the account folders, with the same cache."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from iwtui.icewarp.install import Install
from iwtui.icewarp.volume import store
from iwtui.icewarp.volume.walk import Cancel, Folder, Progress, Unit, Walker


@dataclass(frozen=True)
class Mailbox:
    files: int
    bytes: int
    oldest: int  # the oldest file's mtime, seconds since the epoch; 0: no file


def mailboxes(
    install: Install,
    state_dir: Path,
    accounts: dict[str, str],
    *,
    cache: dict[str, Folder] | None = None,
    progress: Callable[[Progress], None] | None = None,
    cancel: Cancel | None = None,
) -> dict[str, Mailbox]:
    """``accounts``: address -> its folder. Every folder below it counts (``inbox``,
    ``~spam``, ...). ``cache`` as in ``measure``: held by a caller that asks again."""
    held = cache
    if cache is None or not cache:
        loaded = store.load_cache(state_dir, install.root)
        if held is not None:
            held.update(loaded)
        cache = loaded if held is None else held
    # the mail folder resolved once (it may be a link); the account folders below it are
    # real folders (the walker never follows a link)
    mail = str(install.mail_dir)
    real = os.path.realpath(mail)
    units = [Unit(a, real + p[len(mail):] if p.startswith(mail + "/") else os.path.realpath(p))
             for a, p in accounts.items()]  # fmt: skip
    walker = Walker(cache, progress=progress, cancel=cancel)
    stats = walker.run(units)
    complete = not stats.cancelled
    # the oldest file of each account: its folders' records, by path
    owner = {u.path: u.name for u in units}
    oldest: dict[str, int] = {}
    for path, rec in walker.fresh.items():
        if not rec.oldest:
            continue
        p = path
        while p and p not in owner:
            p = p.rpartition("/")[0]
        if p:
            a = owner[p]
            if a not in oldest or rec.oldest < oldest[a]:
                oldest[a] = rec.oldest
    if not (complete and stats.reused == stats.folders and not stats.vanished):
        merged = store.merge_cache(cache, walker.fresh, [u.path for u in units], complete)
        if held is not None:
            held.clear()
            held.update(merged)
        store.save_cache(state_dir, install.root, merged)
    return {u.name: Mailbox(u.files, u.bytes, oldest.get(u.name, 0)) for u in units}

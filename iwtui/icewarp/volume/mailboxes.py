"""Files in each account's mailbox now (Account Statistics' Messages Count / Amount and
Created), counted by the Volume walker over the account folders, with the same cache."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from iwtui.icewarp.install import Install
from iwtui.icewarp.volume import store
from iwtui.icewarp.volume.walk import Cancel, FolderCache, Progress, Unit, Walker


class Mailbox(NamedTuple):
    files: int
    bytes: int
    oldest: int  # the oldest file's mtime, seconds since the epoch; 0: no file


def mailboxes(
    install: Install,
    state_dir: Path,
    accounts: dict[str, str],
    *,
    cache: FolderCache | None = None,
    progress: Callable[[Progress], None] | None = None,
    cancel: Cancel | None = None,
) -> dict[str, Mailbox]:
    """``accounts``: address -> its folder. Every folder below it counts (``inbox``,
    ``~spam``, ...). ``cache`` as in ``measure``: held by a caller that asks again."""
    held = cache is not None  # by a caller that asks again
    if cache is None:
        cache = store.load_cache(state_dir, install.root)
    elif not cache:
        cache.replace(store.load_cache(state_dir, install.root))
    # the mail folder resolved once (it may be a link); the account folders below it are
    # real folders (the walker never follows a link)
    mail = str(install.mail_dir)
    real = os.path.realpath(mail)
    head = mail + "/"
    if real == mail:
        units = [Unit(a, p if p.startswith(head) else os.path.realpath(p))
                 for a, p in accounts.items()]  # fmt: skip
    else:
        units = [Unit(a, real + p[len(mail):] if p.startswith(head) else os.path.realpath(p))
                 for a, p in accounts.items()]  # fmt: skip
    walker = Walker(cache, progress=progress, cancel=cancel)
    stats = walker.run(units)
    complete = not stats.cancelled
    if not (complete and stats.reused == stats.folders and not stats.vanished):
        walked = [u.path for u in units]
        merged = store.merge_cache(cache, walker.seen_folders(), walked, complete)
        kept = store.save_cache(state_dir, install.root, merged, keep=held)
        cache.replace(kept or merged)
    return {u.name: Mailbox(u.files, u.bytes, u.oldest) for u in units}

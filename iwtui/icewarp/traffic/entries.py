"""The entries of a log folder as the traffic ingest sees them (os only: the replay of a
warm ``charts show`` reads them before any other import)."""

from __future__ import annotations

import os
from collections.abc import Iterator


def walk(top: str) -> Iterator[tuple[str, os.stat_result]]:
    """Every entry but folders below ``top`` (links not followed), with its ``lstat``."""
    try:
        entries = list(os.scandir(top))
    except OSError:
        return
    for e in entries:
        try:
            if e.is_dir(follow_symlinks=False):
                yield from walk(e.path)
                continue
            yield e.path, e.stat(follow_symlinks=False)
        except OSError:
            continue

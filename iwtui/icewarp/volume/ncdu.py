"""ncdu's JSON export format (https://dev.yorhel.nl/ncdu/jsonfmt, version 1.2), so that an
admin can browse a target with ``ncdu -f FILE``.

``[1, 2, {"progname", "progver", "timestamp"}, [<root info>, <file info>, [<dir info>, ...],
...]]``: a folder is an array whose first element is its info object, a file an object.
The tree is written while it is walked (nothing per file is kept). Sizes follow Volume's
counting: a regular file has ``asize`` (``st_size``) and ``dsize`` (``st_blocks * 512``);
folders carry 0 of their own, links and other special files are ``notreg`` with 0, so
ncdu's apparent total equals Volume's bytes. Hard-linked files carry ``ino``, ``dev``,
``hlnkc`` and ``nlink``: ncdu counts them once. A folder that cannot be listed has
``read_error``. Names are written as their raw bytes.
"""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from iwtui import __version__
from iwtui.icewarp.volume.walk import _DIR_FLAGS, CHECK_EVERY, Cancel


def _name(name: str) -> bytes:
    return json.dumps(name, ensure_ascii=False).encode("utf-8", "surrogateescape")


def _info(name: str, st: os.stat_result | None, **extra: object) -> bytes:
    parts = [b'{"name":' + _name(name)]
    if st is not None:
        if stat.S_ISREG(st.st_mode):
            parts.append(b'"asize":%d,"dsize":%d' % (st.st_size, st.st_blocks * 512))
            if st.st_nlink > 1:
                parts.append(b'"dev":%d,"ino":%d,"hlnkc":true,"nlink":%d'
                             % (st.st_dev, st.st_ino, st.st_nlink))  # fmt: skip
        elif stat.S_ISDIR(st.st_mode):
            parts.append(b'"asize":0,"dsize":0,"dev":%d' % st.st_dev)
        else:
            parts.append(b'"asize":0,"dsize":0,"notreg":true')
    for key, value in extra.items():
        parts.append(b'"%s":%s' % (key.encode(), json.dumps(value).encode()))
    return b",".join(parts) + b"}"


def export(
    path: str,
    out: Path,
    *,
    cancel: Cancel | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, int]:
    """Write ``path``'s tree to ``out`` (atomically); the (bytes, files) written."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            totals = _write(fh, path, cancel, progress)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    return totals


def _write(
    fh: IO[bytes],
    path: str,
    cancel: Cancel | None,
    progress: Callable[[int, int], None] | None,
) -> tuple[int, int]:
    meta = {"progname": "iwtui", "progver": __version__, "timestamp": int(time.time())}
    fh.write(b"[1,2," + json.dumps(meta).encode() + b",\n")
    seen: set[tuple[int, int]] = set()
    nbytes = nfiles = n = 0
    root_fd = os.open(path, _DIR_FLAGS)
    # Frames: (fd, subfolder names left). A folder's files are written when it is opened.
    stack: list[tuple[int, list[str]]] = []

    def open_dir(fd: int, name: str) -> None:
        nonlocal nbytes, nfiles, n
        subs: list[str] = []
        stack.append((fd, subs))
        st = os.fstat(fd)
        body: list[bytes] = []
        error = False
        try:
            with os.scandir(fd) as it:
                for e in it:
                    n += 1
                    if n % CHECK_EVERY == 0:
                        if cancel is not None and cancel.is_set():
                            raise InterruptedError("cancelled")
                        if progress is not None:
                            progress(nbytes, nfiles)
                    try:
                        if e.is_dir(follow_symlinks=False):
                            subs.append(e.name)
                            continue
                        fst = e.stat(follow_symlinks=False)
                    except FileNotFoundError:
                        continue
                    if stat.S_ISREG(fst.st_mode):
                        key = (fst.st_dev, fst.st_ino)
                        if fst.st_nlink < 2 or key not in seen:
                            if fst.st_nlink > 1:
                                seen.add(key)
                            nbytes += fst.st_size
                            nfiles += 1
                    body.append(_info(e.name, fst))
        except OSError:
            error = True
        extra = {"read_error": True} if error else {}
        fh.write(b"[" + _info(name, st, **extra))
        for b in body:
            fh.write(b",\n" + b)
        subs.sort(reverse=True)

    try:
        open_dir(root_fd, path)
        while stack:
            fd, subs = stack[-1]
            if not subs:
                fh.write(b"]")
                os.close(fd)
                stack.pop()
                continue
            name = subs.pop()
            try:
                cfd = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except OSError:
                continue  # vanished or replaced by a link
            fh.write(b",\n")
            open_dir(cfd, name)
    finally:
        for fd, _ in stack:
            os.close(fd)
    fh.write(b"]\n")
    return nbytes, nfiles

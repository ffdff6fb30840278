"""File primitives of the action gate: claim, move, create, replace; never following a
link, never overwriting, never leaving a temp file behind.

- :func:`claim` renames a file to a private name in its own folder (one atomic rename):
  of two actions on the same file, exactly one wins; the other gets :class:`Taken`
  (another action holds it) or :class:`Gone` (it was delivered or already acted on).
- :func:`move_file` renames; across filesystems it copies *through a no-follow
  descriptor* of the source (a symlink is refused, never copied as its target) to a
  temp name beside the destination, fsyncs, links it into place, and only then removes
  the source if it is still the same file.
- :func:`write_new` creates a file that did not exist (``O_EXCL`` temp + ``link``): a
  name already taken is ``FileExistsError``, never an overwrite.
- :func:`atomic_write` replaces a file through a temp file (owner and mode kept when
  asked).
Every temp file is unlinked on every error path.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path

from iwtui.icewarp import files
from iwtui.icewarp.files import FileId, Unsafe

CLAIM_MARK = ".iwtui-claim-"
TMP_MARK = ".iwtui-tmp"
_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class Gone(Exception):
    """The target vanished before we acted: for queue files, "already delivered"."""


class Taken(Gone):
    """Another action claimed the target first ("already taken")."""


def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _tmp_name(dst: Path) -> Path:
    return dst.with_name(f".{dst.name}.{secrets.token_hex(4)}{TMP_MARK}")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def write_temp(
    folder: Path, name: str, data: bytes, *, mode: int = 0o644, like: os.stat_result | None = None
) -> Path:
    """``data`` in a new temp file beside ``folder/name`` (O_EXCL, fsynced), with
    ``mode`` or the owner and mode of ``like``; the temp path. Unlinked on failure."""
    tmp = _tmp_name(folder / name)
    fd = os.open(tmp, _NEW, 0o600)
    try:
        try:
            _write_all(fd, data)
            if like is not None:
                with contextlib.suppress(OSError):
                    os.fchown(fd, like.st_uid, like.st_gid)
                os.fchmod(fd, stat.S_IMODE(like.st_mode))
            else:
                os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def _link_into_place(tmp: Path, dst: Path) -> None:
    """``tmp`` becomes ``dst`` without overwriting; ``tmp`` is gone afterwards."""
    try:
        try:
            os.link(tmp, dst)
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK):
                raise
            if os.path.lexists(dst):  # no hard links here: a checked rename
                raise FileExistsError(errno.EEXIST, "destination exists", str(dst)) from None
            os.rename(tmp, dst)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def write_new(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Create ``path`` with ``data``; ``FileExistsError`` when the name is taken."""
    tmp = write_temp(path.parent, path.name, data, mode=mode)
    _link_into_place(tmp, path)
    fsync_dir(path.parent)


def create_unique(folder: Path, make_name: Callable[[], str], data: bytes) -> Path:
    """A new file in ``folder`` named by ``make_name()`` (called again on a collision)."""
    for _ in range(100):
        path = files.inside(folder, make_name(), what="new file name")
        try:
            write_new(path, data)
        except FileExistsError:
            continue
        return path
    raise FileExistsError(errno.EEXIST, "no free file name", str(folder))


def atomic_write(
    path: Path, data: bytes, mode: int = 0o644, *, like: os.stat_result | None = None
) -> None:
    """Replace ``path`` with ``data`` through a temp file in the same folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = write_temp(path.parent, path.name, data, mode=mode, like=like)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


# --- claims --------------------------------------------------------------------------


def claim_path(src: Path, pid: int | None = None) -> Path:
    return src.with_name(f".{src.name}{CLAIM_MARK}{pid or os.getpid()}")


def _lost(src: Path) -> Gone:
    prefix = f".{src.name}{CLAIM_MARK}"
    try:
        with os.scandir(src.parent) as it:
            if any(e.name.startswith(prefix) for e in it):
                return Taken(f"{src.name}: already taken by another action")
    except OSError:
        pass
    return Gone(str(src))


def claim(src: Path, expect_ino: int | None = None) -> Path:
    """Take ``src`` for this action: rename it to a private name in its folder. Raises
    :class:`Taken`/:class:`Gone` when another action or the server got it first,
    :class:`Unsafe` for a link, a non-regular file, or another file than the one
    listed (``expect_ino``)."""
    try:
        st = files.lstat_regular(src)
    except FileNotFoundError:
        raise _lost(src) from None
    if expect_ino and st.st_ino != expect_ino:
        raise Unsafe(f"refused {src}: changed since listed")
    held = claim_path(src)
    try:
        os.rename(src, held)
    except FileNotFoundError:
        raise _lost(src) from None
    now = os.lstat(held)
    if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino) or not stat.S_ISREG(now.st_mode):
        unclaim(held, src)  # swapped between the check and the rename
        raise Unsafe(f"refused {src}: changed since listed")
    return held


def unclaim(held: Path, src: Path) -> None:
    """Give a claimed file its name back (when the action could not go on)."""
    with contextlib.suppress(OSError):
        if not os.path.lexists(src):
            os.rename(held, src)


# --- moves ---------------------------------------------------------------------------


def move_file(src: Path, dst: Path, *, expect: FileId | None = None) -> None:
    """Move the regular file ``src`` to ``dst`` without ever losing it or following a
    link. Raises :class:`Gone` when ``src`` vanished, ``FileExistsError`` rather than
    overwrite ``dst``, :class:`Unsafe` for a link or a file other than ``expect``."""
    try:
        st = files.lstat_regular(src)
    except FileNotFoundError:
        raise Gone(str(src)) from None
    if expect is not None and FileId.of(st) != expect:
        raise Unsafe(f"refused {src}: changed since listed")
    if os.path.lexists(dst):
        raise FileExistsError(errno.EEXIST, "destination exists", str(dst))
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(src, dst)
    except FileNotFoundError as exc:
        if not os.path.lexists(src):
            raise Gone(str(src)) from exc
        raise
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        _copy_across(src, dst, FileId.of(st))
    fsync_dir(dst.parent)
    fsync_dir(src.parent)


def _copy_across(src: Path, dst: Path, expect: FileId) -> None:
    try:
        fd, st = files.open_fd(src, expect=expect)
    except FileNotFoundError:
        raise Gone(str(src)) from None
    try:
        tmp = _tmp_name(dst)
        out = os.open(tmp, _NEW, 0o600)
        try:
            try:
                offset = 0
                while True:
                    chunk = os.pread(fd, 1 << 20, offset)
                    if not chunk:
                        break
                    _write_all(out, chunk)
                    offset += len(chunk)
                with contextlib.suppress(OSError):
                    os.fchown(out, st.st_uid, st.st_gid)
                os.fchmod(out, stat.S_IMODE(st.st_mode))
                os.utime(out, ns=(st.st_atime_ns, st.st_mtime_ns))
                os.fsync(out)
            finally:
                os.close(out)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        _link_into_place(tmp, dst)
    finally:
        os.close(fd)
    fsync_dir(dst.parent)
    with contextlib.suppress(FileNotFoundError):
        now = os.lstat(src)
        if (now.st_dev, now.st_ino) == (expect.dev, expect.ino):
            os.unlink(src)

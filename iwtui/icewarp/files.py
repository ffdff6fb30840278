"""The one safe way to open what iwtui reads or acts on, as root, in folders that mail
users and the mail server write to.

- Files are opened with ``O_NOFOLLOW | O_NONBLOCK``: a symlink is refused, a FIFO or a
  device never blocks; ``fstat`` must say regular file, and everything after that reads
  through the descriptor (never the path again).
- Paths built from data (an owner, a folder name, a file name, a LocalServerID, a
  journal record) go through :func:`inside`: each part is one plain name (no ``/``, no
  ``..``, no NUL), and no existing component below the folder is a symlink, so the result
  is inside the folder it belongs to.
- A file that is no longer the one listed (another inode) is "changed since listed".

Reading is bounded: :func:`read_small` refuses files over a limit (path.dat, config
files) instead of reading a gigabyte into memory.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from iwtui.errors import IwtuiError

SMALL_LIMIT = 1024 * 1024  # path.dat, config files, tarpit.dat's readable form
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class Unsafe(IwtuiError):
    """Refused: a link, not a regular file, outside its folder, too large, or changed
    since it was listed. Nothing was done to it."""


@dataclass(frozen=True)
class FileId:
    """What makes a file the one that was listed."""

    dev: int
    ino: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileId:
        return cls(st.st_dev, st.st_ino)


def check_name(part: str, what: str = "name") -> str:
    """One plain path component taken from data, or :class:`Unsafe`."""
    if not part or part in (".", "..") or "/" in part or "\0" in part:
        raise Unsafe(f"refused {what} {part!r}: not a plain name")
    return part


def inside(folder: Path, *parts: str, what: str = "path") -> Path:
    """``folder / part / ...`` for parts taken from data. Each part must be a plain
    name, and no existing component below ``folder`` may be a symlink: the result
    cannot leave ``folder``. Components that do not exist yet are allowed (a file about
    to be created)."""
    path = folder
    for part in parts:
        path = path / check_name(part, what)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise Unsafe(f"refused {what} {path}: {exc.strerror or exc}") from exc
        if stat.S_ISLNK(st.st_mode):
            raise Unsafe(f"refused {what} {path}: it is a symbolic link")
    return path


def within(folder: Path, path: Path, what: str = "path") -> Path:
    """``path`` (absolute, or relative to ``folder``) if it lies inside ``folder``
    without passing through a symlink below it: for paths read back from records (the
    journal) rather than built part by part."""
    path = path if path.is_absolute() else folder / path
    try:
        rel = Path(os.path.normpath(path)).relative_to(os.path.normpath(folder))
    except ValueError:
        raise Unsafe(f"refused {what} {path}: outside {folder}") from None
    if any(p in ("..", "") for p in rel.parts):
        raise Unsafe(f"refused {what} {path}: outside {folder}")
    return inside(Path(os.path.normpath(folder)), *rel.parts, what=what)


def lstat_regular(path: Path | str) -> os.stat_result:
    """The ``lstat`` of a regular file (not a link), else :class:`Unsafe`;
    FileNotFoundError when it is gone."""
    st = os.lstat(path)
    if not stat.S_ISREG(st.st_mode):
        raise Unsafe(f"refused {path}: {kind(st)}, not a regular file")
    return st


def kind(st: os.stat_result) -> str:
    mode = st.st_mode
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a regular file" if stat.S_ISREG(mode) else "a special file"


def open_fd(
    path: Path | str,
    *,
    expect: FileId | None = None,
    follow: bool = False,
) -> tuple[int, os.stat_result]:
    """A read-only descriptor of the regular file at ``path`` and its ``fstat``.
    Raises FileNotFoundError when it is gone, :class:`Unsafe` for a symlink, a FIFO, a
    device, a folder, or a file other than ``expect``. The caller closes the descriptor.
    ``follow``: a symlink is followed (only for files the admin owns, such as iwtui's
    config file; the result must still be a regular file)."""
    flags = _OPEN_FLAGS & ~os.O_NOFOLLOW if follow else _OPEN_FLAGS
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == 40:  # ELOOP: the last component is a symlink
            raise Unsafe(f"refused {path}: it is a symbolic link") from exc
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Unsafe(f"refused {path}: {kind(st)}, not a regular file")
        if expect is not None and FileId.of(st) != expect:
            raise Unsafe(f"refused {path}: changed since listed")
    except BaseException:
        os.close(fd)
        raise
    return fd, st


@contextmanager
def open_regular(
    path: Path | str, *, expect: FileId | None = None, follow: bool = False
) -> Iterator[tuple[int, os.stat_result]]:
    """``with open_regular(p) as (fd, st):`` — :func:`open_fd` that closes."""
    fd, st = open_fd(path, expect=expect, follow=follow)
    try:
        yield fd, st
    finally:
        os.close(fd)


def read_fd(fd: int, limit: int) -> bytes:
    """Up to ``limit`` bytes from the start of ``fd`` (pread: the offset is untouched)."""
    chunks: list[bytes] = []
    got = 0
    while got < limit:
        chunk = os.pread(fd, min(1 << 20, limit - got), got)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_small(
    path: Path | str,
    limit: int = SMALL_LIMIT,
    *,
    expect: FileId | None = None,
    follow: bool = False,
) -> bytes:
    """The whole of a small regular file (path.dat, a config file). Larger than
    ``limit``: :class:`Unsafe`, nothing read."""
    with open_regular(path, expect=expect, follow=follow) as (fd, st):
        if st.st_size > limit:
            raise Unsafe(f"refused {path}: {st.st_size:,} bytes, over the {limit:,} byte limit")
        data = read_fd(fd, limit + 1)
    if len(data) > limit:  # grew while read
        raise Unsafe(f"refused {path}: over the {limit:,} byte limit")
    return data


def read_head(path: Path | str, limit: int, *, expect: FileId | None = None) -> bytes:
    """The first ``limit`` bytes of a regular file of any size."""
    with open_regular(path, expect=expect) as (fd, _st):
        return read_fd(fd, limit)


def is_real_dir(path: Path | str) -> bool:
    """A folder that is not a symlink (queue folders, mailboxes, quarantine folders are
    never followed through a link)."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False

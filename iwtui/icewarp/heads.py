"""The header block at the head of a queued file, and reading many of them at once.

Kept apart from ``messages`` with no imports beyond ``os``: a helper process started to
read half of a large queue imports only this module.
"""

from __future__ import annotations

import marshal
import os
import struct
import sys
from pathlib import Path
from typing import IO

HEAD_LIMIT = 64 * 1024
FIRST_READ = 8 * 1024

# (the header block, a problem or None, inode, size, mtime_ns, mtime); a str: the file
# could not be read (why); None: the file vanished (delivered) while it was read.
BlockResult = tuple[bytes, str | None, int, int, int, float] | str | None


def read_block(
    path: Path | str, limit: int = HEAD_LIMIT, size: int | None = None
) -> tuple[bytes, str | None, int]:
    """(the header block, a problem or None, size). Reads 8 KiB, and up to ``limit`` only
    when the header block is longer. Raises FileNotFoundError when the file is gone."""
    fd = os.open(path, os.O_RDONLY)
    try:
        if size is None:
            size = os.fstat(fd).st_size
        block, problem = _block(fd, limit)
    finally:
        os.close(fd)
    return block, problem, size


def _block(fd: int, limit: int = HEAD_LIMIT) -> tuple[bytes, str | None]:
    data = os.read(fd, FIRST_READ)
    end = _header_end(data)
    if end < 0 and len(data) == FIRST_READ:
        data += os.read(fd, limit - FIRST_READ)
        end = _header_end(data)
    if not data:
        return b"", "empty file"
    if data.find(b"\x00", 0, end if 0 <= end < 4096 else 4096) >= 0:  # NULs in the headers
        return b"", "not a message: binary data"
    if end < 0:
        return data, (
            "header block larger than 64 KiB, read in part" if len(data) >= limit else None
        )
    return data[:end], None


def _header_end(data: bytes) -> int:
    """Where the header block ends (the first empty line, LF or CRLF), or -1.
    ``bytes.find`` runs at memchr speed; the equivalent regex costs 10 us a file."""
    crlf = data.find(b"\n\r\n")
    lf = data.find(b"\n\n", 0, crlf + 2 if crlf >= 0 else len(data))
    if lf < 0:
        lf = crlf
    if lf > 0 and data[lf - 1] == 13:  # the CR of the line that ends the last header
        return lf - 1
    return lf


def read_blocks(paths: list[str]) -> list[BlockResult]:
    """The header block and the stat of each file (one ``fstat`` on the open file: the
    listing need not stat files it has not seen). Runs in a helper process for large
    scans."""
    out: list[BlockResult] = []
    for path in paths:
        try:
            fd = os.open(path, os.O_RDONLY)
        except (FileNotFoundError, NotADirectoryError):
            out.append(None)
            continue
        except OSError as exc:
            out.append(f"unreadable: {exc.strerror or exc}")
            continue
        try:
            st = os.fstat(fd)
            block, problem = _block(fd)
            out.append((block, problem, st.st_ino, st.st_size, st.st_mtime_ns, st.st_mtime))
        except OSError as exc:
            out.append(f"unreadable: {exc.strerror or exc}")
        finally:
            os.close(fd)
    return out


FRAME = 1000  # results per marshalled frame: the reader's unmarshal holds the GIL briefly


def _serve() -> None:
    """The helper process: a marshalled list of paths on stdin; on stdout, frames of
    ``read_blocks`` results (an 8-byte length, then a marshalled list of up to FRAME)."""
    paths = marshal.loads(sys.stdin.buffer.read())
    frames = []
    for i in range(0, len(paths), FRAME):
        data = marshal.dumps(read_blocks(paths[i : i + FRAME]))
        frames.append(struct.pack("<Q", len(data)) + data)
    sys.stdout.buffer.write(b"".join(frames))


def read_frames(stream: IO[bytes]) -> list[BlockResult]:
    """What ``_serve`` wrote, frame by frame. Raises EOFError on a short frame."""
    out: list[BlockResult] = []
    while head := stream.read(8):
        if len(head) < 8:
            raise EOFError("short frame header")
        (n,) = struct.unpack("<Q", head)
        data = stream.read(n)
        if len(data) < n:
            raise EOFError("short frame")
        out += marshal.loads(data)
    return out


if __name__ == "__main__":
    _serve()

"""A helper process of a large ingest: ``python -P -m iwtui.icewarp.traffic.worker``.

Reads one JSON task a line on stdin (``path, start, end, day, antispam, antivirus, dev,
ino``), reads
those bytes itself (no links followed, regular files only, the same file as planned) and
writes one frame per task on stdout: 8-byte little-endian length + ``marshal`` of the
:data:`~iwtui.icewarp.traffic.scan.Part` (or ``{"error": text}``).
"""

from __future__ import annotations

import json
import marshal
import os
import stat
import struct
import sys
from datetime import date
from typing import IO, Any

from iwtui.icewarp.traffic import scan


def read_range(path: str, start: int, end: int, dev: int, ino: int) -> bytes:
    """``end - start`` bytes of a regular file that is still the planned one."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) != (dev, ino):
            raise OSError(f"{path} changed while it was read")
        chunks = []
        at = start
        while at < end:
            data = os.pread(fd, min(end - at, 1 << 26), at)
            if not data:
                break
            chunks.append(data)
            at += len(data)
        return b"".join(chunks)
    finally:
        os.close(fd)


def run_task(task: dict[str, Any]) -> scan.Part:
    data = read_range(task["path"], task["start"], task["end"], task["dev"], task["ino"])
    part = scan.new_part(date.fromordinal(task["day"]))
    return scan.scan(data, part, antispam=bool(task["antispam"]),
                     antivirus=bool(task.get("antivirus")))  # fmt: skip


def write_frame(out: IO[bytes], obj: Any) -> None:
    blob = marshal.dumps(obj)
    out.write(struct.pack("<Q", len(blob)))
    out.write(blob)
    out.flush()


def read_frame(inp: IO[bytes]) -> Any:
    head = inp.read(8)
    if len(head) < 8:
        raise EOFError("helper ended")
    (n,) = struct.unpack("<Q", head)
    blob = inp.read(n)
    if len(blob) < n:
        raise EOFError("helper ended")
    return marshal.loads(blob)


def main() -> int:
    out = sys.stdout.buffer
    for line in sys.stdin:
        try:
            result: Any = run_task(json.loads(line))
            # the threads that began a session here, as a list: marshal sorts a set's
            # items (in 3.11, for a reproducible result), 10x the time of the list for
            # ~14,000 thread ids a 16 MiB piece
            result["reset"] = list(result["reset"])
        except (OSError, ValueError, KeyError) as exc:
            result = {"error": str(exc)}
        write_frame(out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

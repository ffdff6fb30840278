"""Log file names: ``<type><serverid?><YYYYMMDD>[-NN].log`` (spec 5.1).

The date is the last 8 digits before ``-NN``; digits before it are the server id, e.g.
``m120190913-01.log`` is IMAP, server 1, 2019-09-13, rotation 01. The service comes from
the sub-folder when it has a known name, else from the type letter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

# type letter -> service (CONFIRMED letters first, then the ASSUMED ones of spec 5.1)
LETTERS: dict[str, str] = {
    "s": "smtp",
    "p": "pop3",
    "m": "imap",
    "c": "control",
    "g": "groupware",
    "i": "im",
    "f": "ftp",
    "e": "error",
    "a": "antispam",
    "v": "antivirus",
    "q": "flow",
    "x": "performance",
    "r": "spamreports",
}
SERVICE_LETTER = {v: k for k, v in LETTERS.items()}
FOLDERS = {
    "smtp",
    "pop3",
    "imap",
    "control",
    "groupware",
    "im",
    "ftp",
    "error",
    "antispam",
    "antivirus",
    "flow",
    "performance",
    "spamreports",
    "sip",
    "sms",
    "ldap",
    "activesync",
    "webdav",
    "syncml",
    "wcs",
}

_NAME = re.compile(
    r"^(?P<type>[A-Za-z]+?)(?P<server>\d*?)(?P<date>\d{8})(?:-(?P<part>\d{1,4}))?"
    r"\.log(?P<gz>\.gz)?$"
)


@dataclass(frozen=True)
class LogName:
    path: Path
    service: str
    type: str
    server_id: str
    day: date
    part: int | None  # the -NN rotation number; None for the first file of the day
    compressed: bool


def parse_name(path: Path, log_root: Path | None = None) -> LogName | None:
    """Recognise a log file by its name, or None."""
    m = _NAME.match(path.name)
    if not m:
        return None
    d = m.group("date")
    try:
        day = date(int(d[:4]), int(d[4:6]), int(d[6:]))
    except ValueError:
        return None
    letter = m.group("type").lower()
    folder = path.parent.name.lower() if log_root is None or path.parent != log_root else ""
    service = folder if folder in FOLDERS else LETTERS.get(letter, letter)
    part = m.group("part")
    return LogName(
        path=path,
        service=service,
        type=letter,
        server_id=m.group("server"),
        day=day,
        part=int(part) if part is not None else None,
        compressed=bool(m.group("gz")),
    )


def file_name(service: str, day: date, part: int | None = None, server_id: str = "") -> str:
    letter = SERVICE_LETTER.get(service, service[:1])
    suffix = f"-{part:02d}" if part is not None else ""
    return f"{letter}{server_id}{day:%Y%m%d}{suffix}.log"

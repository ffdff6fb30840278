"""Log file names: ``<type?><serverid?><YYYYMMDD>[-NN].log[.gz]`` (spec 5.1).

The date is the last 8 digits before ``-NN``; digits before it are the server id, e.g.
``m120190913-01.log`` is IMAP, server 1, 2019-09-13, rotation 01. The service comes from
the sub-folder of the log folder it is in (any name), else from the type letter.

Not every log has a type letter: maintenance logs are named by the date alone
(``maintenance/20060427.log``), directory-sync logs by server id and date
(``adsync/303120260921-00.log``). A file of a sub-folder whose name is a date (with or
without a server id before it and a rotation part after it) belongs to that folder's
service, whatever the folder is called: folders are discovered, not listed here. Its
``hh:mm:ss`` times take the date from the name like any other log.
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
    r"^(?P<type>[A-Za-z]*?)(?P<server>\d*?)(?P<date>\d{8})(?:-(?P<part>\d{1,4}))?"
    r"\.log(?P<gz>\.gz)?$"
)


@dataclass(frozen=True)
class LogName:
    path: Path
    service: str
    type: str  # the type letter(s), lower-case; "" for a date-named file
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
    folder = service_folder(path, log_root)
    if log_root is not None and folder:
        service = folder  # every sub-folder of the log folder is a service (discovered)
    elif not letter:  # a date alone: its folder's service (none in the log folder itself)
        if not folder:
            return None
        service = folder
    elif folder in FOLDERS:
        service = folder
    else:
        service = LETTERS.get(letter, letter)
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


def service_folder(path: Path, log_root: Path | None = None) -> str:
    """The sub-folder a log file is in, lower-case: the first folder below ``log_root``
    (``logs/maintenance/old/20260101.log`` is maintenance's), or the file's own folder
    when there is no root; "" for a file of the log folder itself."""
    if log_root is None:
        return path.parent.name.lower()
    if path.parent == log_root:
        return ""
    try:
        rel = path.parent.relative_to(log_root)
    except ValueError:
        return path.parent.name.lower()
    return rel.parts[0].lower() if rel.parts else ""


def file_name(service: str, day: date, part: int | None = None, server_id: str = "") -> str:
    letter = SERVICE_LETTER.get(service, service[:1])
    suffix = f"-{part:02d}" if part is not None else ""
    return f"{letter}{server_id}{day:%Y%m%d}{suffix}.log"

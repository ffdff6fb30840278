"""Every log file under the log folder, grouped by service and day (spec 5.1).

Services are the log folder's sub-folders, whatever their names (``maintenance/``,
``adsync/``...), plus the type letters of files in the log folder itself. Only regular
files are listed: a FIFO, a device or a symlink named like a log is set aside in
``refused`` (nothing would read it), and symlinked sub-folders are not walked.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from iwtui.icewarp import files
from iwtui.icewarp.logs.names import LogName, parse_name


@dataclass(frozen=True)
class LogFile:
    name: LogName
    size: int
    mtime: float

    @property
    def path(self) -> Path:
        return self.name.path


@dataclass
class LogDay:
    service: str
    day: date
    files: list[LogFile] = field(default_factory=list)  # in write order: base, -00, -01, ...

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def current(self) -> LogFile:
        return self.files[-1]


def _order(f: LogFile) -> tuple[str, int]:
    return (f.name.server_id, -1 if f.name.part is None else f.name.part)


@dataclass
class Catalog:
    root: Path
    days: dict[tuple[str, date], LogDay] = field(default_factory=dict)
    other: list[Path] = field(default_factory=list)  # .log files with unrecognised names
    refused: list[tuple[Path, str]] = field(default_factory=list)  # (path, what it is)

    def services(self) -> list[str]:
        return sorted({s for s, _ in self.days})

    def days_of(self, service: str) -> list[LogDay]:
        """Newest first."""
        return sorted((d for (s, _), d in self.days.items() if s == service),
                      key=lambda d: d.day, reverse=True)  # fmt: skip

    def get(self, service: str, day: date | None = None) -> LogDay | None:
        days = self.days_of(service)
        if not days:
            return None
        if day is None:
            return days[0]
        return self.days.get((service, day))


def scan(root: Path) -> Catalog:
    """Walk the log folder (links to folders are not followed); files that vanish while
    we look are skipped."""
    cat = Catalog(root)
    for dirpath, _dirs, names in os.walk(root, followlinks=False):
        for n in names:
            path = Path(dirpath) / n
            parsed = parse_name(path, root)
            if parsed is None:
                if n.endswith(".log"):
                    cat.other.append(path)
                continue
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                cat.refused.append((path, files.kind(st)))
                continue
            key = (parsed.service, parsed.day)
            cat.days.setdefault(key, LogDay(parsed.service, parsed.day)).files.append(
                LogFile(parsed, st.st_size, st.st_mtime)
            )
    for d in cat.days.values():
        d.files.sort(key=_order)
    return cat

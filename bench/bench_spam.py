"""Issue 5: 50,000 rows per list (quarantine, whitelist, blacklist, greylist), listed and
filtered with the screen's core calls, against the bare query that reads the same rows
(``SELECT * ... WHERE SndAuthorized = ?`` fetched with plain sqlite3) in one run."""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path

from common import compare

from iwtui.icewarp.spam import lists as spam

N = int(os.environ.get("IWTUI_BENCH_SPAM", "50000"))


def _fill(db: Path) -> None:
    rng = random.Random(5)
    with closing(sqlite3.connect(db)) as con:
        con.executescript(spam.SCHEMA)
        for code in (spam.QUARANTINE, spam.WHITELIST, spam.BLACKLIST):
            con.executemany(spam.INSERT_SENDER, (
                (f"user{rng.randrange(500)}@dom{rng.randrange(40)}.test", f"s{rng.randrange(10**6)}@x{rng.randrange(900)}.test",
                 code, f"F{n}" if code == 2 else None, f"dom{rng.randrange(40)}.test", f"Subject {n}",
                 46000 + rng.random() * 300, rng.randrange(86400))
                for n in range(N)))  # fmt: skip
        con.executemany(spam.INSERT_GREYLIST, (
            (f"s{rng.randrange(10**6)}@x.test|10.{n % 250}.{n % 7}.1", f"user{rng.randrange(500)}@d.test",
             rng.randrange(2), 46300 - rng.random() * 60, None) for n in range(N)))  # fmt: skip
        con.commit()


def _bare(db: Path, code: int) -> int:
    with closing(sqlite3.connect(db)) as con:
        return len(con.execute("SELECT * FROM Senders WHERE SndAuthorized = ?", (code,)).fetchall())


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="iwtui-bench-spam-") as tmp:
        db = Path(tmp) / "antispam.db"
        _fill(db)
        rows, total = asyncio.run(spam.list_senders(db, "quarantine"))
        assert len(rows) == total == N
        compare(f"quarantine, all {N:,} rows listed", lambda: asyncio.run(spam.list_senders(db, "quarantine")),
                lambda: _bare(db, spam.QUARANTINE), "bare SELECT * fetchall", runs=5)  # fmt: skip
        compare(f"whitelist filtered (sender 'x12', {N:,} rows)",
                lambda: asyncio.run(spam.list_senders(db, "whitelist", sender="x12")),
                lambda: _bare(db, spam.WHITELIST), "bare SELECT * fetchall", runs=5)  # fmt: skip
        compare("blacklist, Max Items 2,000 (the seed's default view)",
                lambda: asyncio.run(spam.list_senders(db, "blacklist", max_items=2000)),
                lambda: _bare(db, spam.BLACKLIST), "bare SELECT * fetchall", runs=5)  # fmt: skip
        compare(f"greylist, status pending ({N:,} rows)",
                lambda: asyncio.run(spam.list_greylist(db, status="pending")),
                lambda: _bare(db, spam.BLACKLIST), "bare SELECT * fetchall", runs=5)  # fmt: skip


if __name__ == "__main__":
    main()

"""Issue 12: Account Statistics with 50,000 accounts (IWTUI_BENCH_ACCOUNTS) over a month.

The mail store has ``<domain>/<user>/inbox/`` with one message each; the traffic store is
filled synthetically (each account active on one day in three of 30 days: ~500,000
``account_day`` rows), as the ingest would leave it; there are no logs to read.

1. ``iwtui accounts list --json`` from the CLI, first run (mailboxes not cached yet) and
   again (cached), against the 1 s target.
2. The list re-sorted on screen: the table's sort (the UI thread's work on ``o``) of every
   row by each column's key, against the 200 ms target.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

PY = sys.executable


def tree(n: int) -> tuple[Path, Path]:
    base = Path(tempfile.gettempdir()) / f"iwtui-bench-accounts-{n}"
    root, state = base / "icewarp", base / "state"
    done = base / ".done"
    if done.exists():
        return root, state
    old = time.time() - 3 * 86400
    for i in range(n):
        box = root / "mail" / f"dom{i // 1000:03d}.test" / f"user{i % 1000:04d}" / "inbox"
        box.mkdir(parents=True, exist_ok=True)
        (box / "1.imap").write_bytes(b"x" * (500 + i % 3000))
        os.utime(box / "1.imap", (old, old))  # delivered days ago, as most mail is
    (root / "logs").mkdir(exist_ok=True)
    from iwtui.icewarp.install import discover
    from iwtui.icewarp.traffic.store import Store, default_path

    store = Store(default_path(discover(root, use_tool_sh=False), state))
    first = date(2026, 1, 1)
    rows = []
    for i in range(n):
        account = f"user{i % 1000:04d}@dom{i // 1000:03d}.test"
        for d in range(i % 3, 30, 3):
            day = (first + timedelta(days=d)).isoformat()
            t = f"{day}T{(i + d) % 24:02d}:{i % 60:02d}:00"
            rows.append(("", day, account, d + 1, 1000 * (d + 1), i % 7, 900 * (i % 7), i % 3,
                         800 * (i % 3), t, t, t, f"10.0.{i % 250}.{d}"))  # fmt: skip
    with store.db:
        store.db.executemany(
            "INSERT OR REPLACE INTO account_day VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)", rows
        )
    store.db.close()
    done.touch()
    return root, state


def cli(root: Path, cfg: Path) -> float:
    env = dict(os.environ, IWTUI_CONFIG=str(cfg))
    t0 = time.perf_counter()
    subprocess.run([PY, "-m", "iwtui", "accounts", "list", "--root", str(root), "--json",
                    "--from", "2026-01-01", "--to", "2026-01-30"],
                   check=True, stdout=subprocess.DEVNULL, env=env)  # fmt: skip
    return time.perf_counter() - t0


def main() -> None:
    n = int(os.environ.get("IWTUI_BENCH_ACCOUNTS", "50000"))
    root, state = tree(n)
    cfg = state.parent / "config.yaml"
    cfg.write_text(f"state_dir: {state}\ntool_sh: false\n")
    for f in (state / "volume").glob("cache-*"):
        f.unlink()  # the first run counts every mailbox
    first = cli(root, cfg)
    warm = [cli(root, cfg) for _ in range(3)]
    print(f"{f'accounts list --json ({n:,} accounts, 30 days)':<44} {statistics.median(warm):8.3f} s"
          f"   target 1 s (first run, mailboxes walked: {first:.3f} s; "
          f"runs {min(warm):.3f}-{max(warm):.3f} s)")  # fmt: skip

    from iwtui.icewarp.accounts.stats import collect
    from iwtui.icewarp.install import discover
    from iwtui.tui.screens.accounts.columns import columns
    from iwtui.tui.widgets.item_table import sort_rows

    report = collect(discover(root, use_tool_sh=False), state, ingest=False)
    times = {}
    for col in columns(None):
        t0 = time.perf_counter()
        sort_rows(report.rows, col.sort, False)
        times[col.title] = time.perf_counter() - t0
    worst = max(times, key=lambda k: times[k])
    print(f"{f'accounts re-sort on screen ({len(report.rows):,} rows)':<44} "
          f"{statistics.median(times.values()) * 1000:8.1f} ms  target 200 ms "
          f"(slowest column {worst}: {times[worst] * 1000:.1f} ms)")  # fmt: skip


if __name__ == "__main__":
    main()

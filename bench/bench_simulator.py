"""Simulator speed: `simulate --once --log-mb M` against copying the same bytes with `cp`."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from common import compare, shell

MB = float(os.environ.get("IWTUI_BENCH_LOG_MB", "200"))


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="iwtui-bench-sim-") as tmp:
        t = Path(tmp)
        exe = f"{sys.executable} -m iwtui simulate"
        n = [0]

        def ours() -> None:
            n[0] += 1
            root = t / f"sim{n[0]}"
            shell(f"{exe} {root} --once --log-mb {MB:g} --start 2026-11-24T23:59:00")()
            shutil.copy(root / "logs/smtp/s20261124.log", t / "smtp.log")
            shutil.rmtree(root)

        ours()  # warm-up, and the file the baseline copies
        size = (t / "smtp.log").stat().st_size
        all_logs_ratio = 1.33  # the other services' logs add about a third (see README)
        med, _ = compare(
            f"simulate --once --log-mb {MB:g}",
            ours,
            shell(f"cp {t}/smtp.log {t}/copy.log && rm {t}/copy.log"),
            f"cp of the {size / 1e6:.0f} MB SMTP log",
        )
        print(f"  SMTP log throughput: {size / 1e6 / med:.0f} MB/s "
              f"(~{size * all_logs_ratio / 1e6 / med:.0f} MB/s of all logs); "
              f"1000 MB day log projected at {1000 / (size / 1e6 / med):.0f} s")  # fmt: skip


if __name__ == "__main__":
    main()

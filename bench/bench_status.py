"""Header counts: `status.refresh` over every queue against `find <queues> -type f | wc -l`."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from common import compare, shell

from iwtui.icewarp import status
from iwtui.icewarp.install import discover
from iwtui.icewarp.queue import folders as queues
from iwtui.simulator.tree import SimOptions, build

N = int(os.environ.get("IWTUI_BENCH_QUEUE", "20000"))


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="iwtui-bench-status-") as tmp:
        root = Path(tmp) / "icewarp"
        build(root, SimOptions(seed=3, queue=N, log_mb=0.1, start="2026-11-24T12:00:00"))
        inst = discover(root, use_tool_sh=False)
        counted = sum(queues.counts(inst).values())
        assert counted == N, (counted, N)
        dirs = f"{inst.outgoing_dir} {inst.incoming_dir} {inst.sms_dir}"
        compare(
            f"queue counts, {N} items",
            lambda: queues.counts(inst),
            shell(f"find {dirs} -type f | wc -l"),
            "find -type f | wc -l",
            runs=5,
        )
        compare(
            "full header refresh (queues, spam db, tarpit)",
            lambda: status.refresh(inst),
            shell(f"find {dirs} -type f | wc -l"),
            "find -type f | wc -l",
            runs=5,
        )


if __name__ == "__main__":
    main()

"""`make bench`: every benchmark, each printing medians and ratios against its baseline.

Scale with IWTUI_BENCH_LOG_MB (default 200; the issue's figure is 1000) and
IWTUI_BENCH_QUEUE (default 20000); IWTUI_BENCH_SPAM (default 50000).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_accounts
import bench_analyzer
import bench_cli_start
import bench_demo_start
import bench_logs
import bench_queue
import bench_simulator
import bench_spam
import bench_status
import bench_traffic
import bench_volume

if __name__ == "__main__":
    print(f"{'measure':<44} {'ours':>10}   {'baseline':<34} {'':>10}")
    bench_simulator.main()
    bench_status.main()
    bench_cli_start.main()
    bench_demo_start.main()
    bench_logs.main()
    bench_queue.main()
    bench_spam.main()
    bench_analyzer.main()
    bench_traffic.main()
    bench_volume.main()
    bench_accounts.main()

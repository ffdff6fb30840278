"""Mailbox size limits, for Account Statistics' Quota column. ASSUMED source.

IceWarp keeps account settings in its own configuration store, not in files iwtui reads.
Its command-line API can list one setting of every account:
``<root>/tool.sh export account "*@*" u_maxboxsize`` printing one ``address,value,`` line
per account, the value in kB, 0 meaning no limit (ASSUMED: the variable name and the
output form follow IceWarp's documented ``tool export account`` usage; not verified on a
real server). It is asked only when ``tool_sh`` is on, with a short timeout; any failure or
an unrecognised line means "unknown" (the column shows "—").
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

TIMEOUT = 5.0


def parse(text: str) -> dict[str, int]:
    """``address,kB,`` lines -> address -> limit in bytes (no limit and junk left out)."""
    out: dict[str, int] = {}
    for raw in text.splitlines():
        parts = [p.strip() for p in raw.split(",")]
        if len(parts) < 2 or "@" not in parts[0]:
            continue
        try:
            kb = int(parts[1])
        except ValueError:
            continue
        if kb > 0:
            out[parts[0].lower()] = kb * 1024
    return out


def limits(root: Path, *, enabled: bool, timeout: float = TIMEOUT) -> dict[str, int]:
    """Every account's limit the install states, in bytes; {} when it says nothing."""
    tool = root / "tool.sh"
    if not enabled or not os.access(tool, os.X_OK):
        return {}
    try:
        proc = subprocess.run(
            [str(tool), "export", "account", "*@*", "u_maxboxsize"],
            capture_output=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return {}
    if proc.returncode != 0:
        return {}
    return parse(proc.stdout.decode("utf-8", errors="replace"))

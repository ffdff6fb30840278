"""Start-up of the CLI: `iwtui --version`, `iwtui --help` and a real listing command's
parse, against `python -c pass` run side by side (issue 15: within 2x for the first two)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from common import compare, shell

IWTUI = shutil.which("iwtui") or str(Path(sys.executable).with_name("iwtui"))


def main() -> None:
    base = shell(f"{sys.executable} -c pass")
    for args in ("--version", "--help", "queue --help"):
        compare(f"iwtui {args}", shell(f"{IWTUI} {args}"), base, "python -c pass", runs=21)


if __name__ == "__main__":
    main()

"""``iwtui volume [server|DOMAIN|USER@DOMAIN] [--json] [--ncdu FILE]``: bytes and files of the
server, a domain or an account (issue 12). The same core as the Volume screen
(``iwtui.icewarp.volume``)."""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from iwtui.cli.common import EXIT_OK, Add, context, emit_json
from iwtui.errors import BadInput
from iwtui.icewarp.logs.lines import safe_text
from iwtui.icewarp.volume import ncdu
from iwtui.icewarp.volume.measure import VolumeResult, measure
from iwtui.icewarp.volume.targets import resolve
from iwtui.icewarp.volume.walk import Progress
from iwtui.units import human_bytes as human


def signed(n: int, fmt: Callable[[int], str] = str) -> str:
    return ("+" if n > 0 else "-" if n < 0 else "±") + fmt(abs(n))


def _text(r: VolumeResult) -> str:
    lines = [f"{safe_text(r.target)} ({r.kind})  {r.bytes:,} bytes ({human(r.bytes)})  "
             f"{r.files:,} files  at {r.at}"]  # fmt: skip
    if r.previous is not None and r.difference is not None:
        db, df = r.difference
        lines.append(f"previous {r.previous.bytes:,} bytes  {r.previous.files:,} files  at "
                     f"{r.previous.at}  difference {signed(db, human)}  {signed(df)} files")  # fmt: skip
    else:
        lines.append("previous: none (first measurement)")
    if not r.complete:
        lines.append("CANCELLED: partial totals")
    width = max((len(c.name) for c in r.children), default=4)
    for c in sorted(r.children, key=lambda c: -c.bytes):
        lines.append(f"  {safe_text(c.name):<{width}}  {c.bytes:>15,}  {human(c.bytes):>10}  "
                     f"{c.files:>9,} files")  # fmt: skip
    for p, e in r.errors:
        lines.append(f"not read: {safe_text(p)}: {safe_text(e)}")
    return "\n".join(lines)


def cmd_volume(args: argparse.Namespace) -> int:
    ctx = context(args)
    inst = ctx.install()
    state = ctx.config.state_path()
    target = resolve(inst, args.target)
    cancel = threading.Event()
    show = sys.stderr.isatty() and not args.json

    def progress(p: Progress) -> None:
        if show:
            sys.stderr.write(f"\r{p.files:,} files  {human(p.bytes)}  {p.folders:,} folders\x1b[K")
            sys.stderr.flush()

    try:
        result = measure(inst, None, state, progress=progress, cancel=cancel, target=target)
    except KeyboardInterrupt:
        cancel.set()
        raise
    finally:
        if show:
            sys.stderr.write("\r\x1b[K")
    if args.ncdu:
        out = Path(args.ncdu)
        if out.is_dir():
            raise BadInput(f"--ncdu {out}: is a folder")
        ncdu.export(target.path, out)
    if args.json:
        emit_json(result.to_json())
    else:
        print(_text(result))
        if args.ncdu:
            print(f"ncdu export: {args.ncdu} (browse with: ncdu -f {args.ncdu})")
    return EXIT_OK


def register(
    add: Add,
    lists: Callable[[argparse.ArgumentParser], None],
    writes: Callable[[argparse.ArgumentParser], None],
) -> None:
    p = add("volume", cmd_volume, "bytes and files of the server, a domain or an account")
    p.add_argument("target", nargs="?", default="server", metavar="server|DOMAIN|USER@DOMAIN")
    p.add_argument("--ncdu", metavar="FILE", help="also write the tree in ncdu's export format")
    lists(p)

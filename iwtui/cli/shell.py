"""The commands of the shell itself: the console (default), demo, simulate, doctor,
status, config, keys, journal and undo."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from iwtui import config as config_mod
from iwtui.cli.common import EXIT_OK, EXIT_REFUSED, Add, confirm, context, emit_json
from iwtui.cli.validate import MAX_DAYS, count, count_upto, number
from iwtui.errors import BadInput, IwtuiError, Refused
from iwtui.icewarp import doctor
from iwtui.icewarp.install import discover
from iwtui.text import safe_text

# --- commands ----------------------------------------------------------------------------


def cmd_tui(args: argparse.Namespace) -> int:
    ctx = context(args)
    inst = ctx.install()
    from iwtui.tui.app import run_app  # Textual only from here on

    return run_app(inst, ctx.loaded)


def cmd_doctor(args: argparse.Namespace) -> int:
    ctx = context(args)
    inst = ctx.install()
    report = doctor.run(inst)
    if args.json:
        emit_json({area: rep.as_json() for area, rep in report.items()})
    else:
        # paths and values come from path.dat and the disk: shown inert
        print(safe_text(f"install root: {inst.root} ({inst.root_origin})"))
        if inst.server_id:
            print(safe_text(f"LocalServerID: {inst.server_id}"))
        for problem in inst.problems:
            print(safe_text(f"refused: {problem}"))
        width = max(len(a) for a in report)
        for area, rep in report.items():
            mark = "ok     " if rep.found else "MISSING"
            print(safe_text(f"{mark} {area:<{width}}  {rep.path}"))
            print(safe_text(f"        {'':<{width}}  {rep.detail}"))
    return EXIT_OK if all(r.found for r in report.values()) else EXIT_REFUSED


def cmd_status(args: argparse.Namespace) -> int:
    from iwtui.icewarp import status
    from iwtui.icewarp.queue.folders import QUEUE_NAMES, QUEUE_TITLES

    snap = status.refresh(context(args).install())
    # zeros of a part that is not there are no count: say so, and exit 1 (as doctor does)
    code = EXIT_REFUSED if snap.missing else EXIT_OK
    if args.json:
        emit_json(snap.as_json())
        return code
    print("  ".join(f"{QUEUE_TITLES[q]} {snap.queues[q]}" for q in QUEUE_NAMES))
    if snap.spam_lists is not None:
        print("  ".join(f"{k.title()} {v}" for k, v in snap.spam_lists.items()))
    else:
        print(safe_text(f"spam database: {snap.spam_error}"))
    expired = snap.tarpit_total - snap.tarpit_active
    print(safe_text(
        f"Tarpitted {snap.tarpit_active} ({expired} expired)"
        + (f"; {snap.tarpit_note}" if snap.tarpit_note else "")
    ))  # fmt: skip
    if snap.missing:
        print(f"iwtui: not found in this install: {', '.join(snap.missing)} (see iwtui doctor)",
              file=sys.stderr)  # fmt: skip
    return code


def cmd_config(args: argparse.Namespace) -> int:
    ctx = context(args)
    rows = config_mod.describe(ctx.loaded)
    install_info: dict[str, Any]
    install_problems: tuple[str, ...] = ()
    try:
        inst = ctx.install()
        install_info = {
            "root": [str(inst.root), inst.root_origin],
            **{
                name: [str(getattr(inst, f"{name}_dir")), inst.origins.get(name, "default")]
                for name in ("config", "mail", "log", "spam", "outgoing", "retry", "incoming")
            },
            "server_id": [inst.server_id, "path.dat line 4" if inst.server_id else "default"],
        }
        install_problems = inst.problems
    except IwtuiError as exc:
        install_info = {"error": str(exc)}
    if args.json:
        emit_json(
            {
                "file": str(ctx.loaded.path) if ctx.loaded.path else None,
                "config": {k: {"value": v, "from": o} for k, v, o in rows},
                "install": install_info,
            }
        )
        return EXIT_OK
    path = ctx.loaded.path
    print(safe_text(f"# config file: {path if path else 'none (defaults)'}"))
    for key, value, origin in rows:
        shown = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
        print(safe_text(f"{key:<26} {shown:<40} # {origin}"))
    print("# install")
    if "error" in install_info:
        print(safe_text(f"# not found: {install_info['error']}"))
    else:
        for key, (value, origin) in install_info.items():
            print(safe_text(f"{key:<26} {value or '-':<40} # {origin}"))
        for problem in install_problems:
            print(safe_text(f"# refused: {problem}"))
    return EXIT_OK


def cmd_keys(args: argparse.Namespace) -> int:
    from iwtui.keymap import default_keymap

    ctx = context(args)
    rows = [
        {
            "id": s.id,
            "keys": ctx.config.keymap.get(s.id, s.keys),
            "description": s.description,
            "remapped": s.id in ctx.config.keymap,
        }
        for s in default_keymap().values()
    ]
    if args.json:
        emit_json(rows)
    else:
        for r in rows:
            mark = " (config)" if r["remapped"] else ""
            print(f"{r['id']:<22} {r['keys']:<14} {r['description']}{mark}")
    return EXIT_OK


def cmd_journal(args: argparse.Namespace) -> int:
    gate = context(args).gate()
    view = gate.view()
    entries = view.entries[-args.max :] if args.max else view.entries
    if view.damaged:
        lines = ", ".join(str(n) for n in view.damaged[:5]) + (
            " ..." if len(view.damaged) > 5 else ""
        )
        print(f"iwtui: journal: {len(view.damaged)} damaged line(s) skipped (line {lines})",
              file=sys.stderr)  # fmt: skip
    if args.json:
        emit_json(entries)
        return EXIT_OK
    undoable = {e["id"] for e in gate.undoable(view.entries)}
    for e in entries:
        mark = "undo-able" if e["id"] in undoable else ""
        if e.get("state") in ("interrupted", "running"):
            done, total = len(e.get("done", ())), len(e.get("targets", ()))
            mark = f"{e['state']}: {done} of {total} done" + (f", {mark}" if mark else "")
        print(safe_text(
            f"{e['id']}  {e.get('time', '')}  {e.get('user', '')}  {e.get('summary', '')}  {mark}"
        ))  # fmt: skip
        print(f"    {safe_text(str(e.get('cli', '')))}")  # a journal line is data: inert
    if not entries:
        print("journal is empty")
    return EXIT_OK


UNDO_SHOWN = 5  # moves listed before the undo is confirmed


def cmd_undo(args: argparse.Namespace) -> int:
    from iwtui.cli.common import execute
    from iwtui.icewarp.actions import describe_record, install_roots
    from iwtui.icewarp.logs.lines import safe_text

    ctx = context(args)
    gate = ctx.gate()
    gate.check("undo")
    candidates = gate.undoable()
    entry = (
        next((e for e in candidates if e["id"] == args.journal_id), None)
        if args.journal_id
        else (candidates[-1] if candidates else None)
    )
    if entry is None:
        raise BadInput(
            f"no undoable journal entry {args.journal_id!r}"
            if args.journal_id
            else "nothing to undo"
        )
    records = gate.undo_records(entry)
    try:  # undo touches only the install's folders and the state dir
        roots = install_roots(ctx.install())
    except IwtuiError as exc:
        # without the install, only records inside the state dir could be replayed: an
        # undo that puts mail back into the install refuses before touching anything
        outside = [r for r in records if not all(
            Path(str(r[k])).is_relative_to(gate.state_dir) for k in ("to", "file", "db") if k in r)]  # fmt: skip
        if outside:
            raise Refused(f"undo {entry['id']}: {exc}; nothing was undone (pass --root)") from None
        roots = []
    gate.check_roots_exist(records, gate.allowed_roots(roots))  # before asking anything
    for rec in records[:UNDO_SHOWN]:
        print(safe_text(f"  {describe_record(rec)}"))
    if len(records) > UNDO_SHOWN:
        print(f"  ... and {len(records) - UNDO_SHOWN:,} more")
    summary = f"Undo {entry.get('summary', entry['action'])} ({len(records)} item(s))"
    if not confirm(args, summary):
        return EXIT_OK
    return execute(gate, None, run=lambda stop: gate.undo(entry["id"], roots=roots, stop=stop))


def cmd_simulate(args: argparse.Namespace) -> int:
    from iwtui.simulator.live import LiveSimulator
    from iwtui.simulator.tree import STATE_FILE, SimOptions, build

    root = Path(args.root_dir)
    opts = SimOptions(
        seed=args.seed,
        days=args.days,
        log_mb=args.log_mb,
        queue=args.queue,
        quarantine=args.quarantine,
        tarpit=args.tarpit,
        start=args.start,
        time_format=args.time_format,
        tid_digits=args.tid_digits,
        rotate_mb=args.rotate_mb,
        rate=args.rate,
    )
    simulated = (root / STATE_FILE).exists()
    if root.exists() and any(root.iterdir()) and not simulated:
        raise BadInput(
            f"{root} is not empty and is not a simulated tree; refusing to write into it"
        )
    if not simulated or args.fresh:
        if args.fresh and simulated:
            shutil.rmtree(root)
        t0 = time.perf_counter()
        stats = build(root, opts)
        took = time.perf_counter() - t0
        mb = stats["log_bytes"] / 1e6
        print(
            f"simulated tree in {root}: {mb:.1f} MB of logs in {took:.1f} s ({mb / took:.0f} MB/s), "
            f"queue {opts.queue}, quarantine {opts.quarantine}, tarpit {opts.tarpit}",
            flush=True,
        )
    if args.once:
        return EXIT_OK
    print(f"live: {opts.rate:g} lines/s into {root} (Ctrl-C stops)", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        LiveSimulator(root, opts).run(
            duration=args.duration, exit_with_parent=args.exit_with_parent
        )
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from iwtui.simulator.tree import SimOptions, build

    t0 = time.perf_counter()
    # The simulated install and iwtui's own state (journal, trash) side by side in one
    # folder: demo actions never reach the real journal, and go with the folder.
    folder = Path(tempfile.mkdtemp(prefix="iwtui-demo-"))
    root, state = folder / "icewarp", folder / "state"
    proc: subprocess.Popen[bytes] | None = None

    def cleanup() -> None:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
        if args.keep:
            print(f"demo tree kept in {root} (its journal and trash in {state})")
        else:
            shutil.rmtree(folder, ignore_errors=True)

    def hangup(signum: int, _frame: object) -> None:
        # An SSH session that drops sends SIGHUP, which would skip `finally`: clean up
        # first, then die of the same signal.
        cleanup()
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    for sig in (signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, hangup)
    try:
        build(root, SimOptions(seed=args.seed, log_mb=1.0))
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "iwtui",
                "simulate",
                str(root),
                "--seed",
                str(args.seed),
                "--rate",
                str(args.rate),
                "--rotate-mb",
                "4",
                "--exit-with-parent",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        os.environ.setdefault("IWTUI_DEMO_T0", str(t0))
        loaded = context(args).loaded.with_overrides(state_dir=str(state))
        inst = discover(root, use_tool_sh=False)
        from iwtui.tui.app import run_app

        return run_app(inst, loaded, demo=True)
    finally:
        cleanup()


# --- the parser ---------------------------------------------------------------------------


def register(
    add: Add,
    lists: Callable[[argparse.ArgumentParser], None],
    writes: Callable[[argparse.ArgumentParser], None],
) -> None:
    add("tui", cmd_tui, "open the full-screen console (the default)")
    p = add("demo", cmd_demo, "the simulator, live in a temporary folder, plus the console on it")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rate", type=number(0, 1e6), default=25.0, help="log lines per second")
    p.add_argument("--keep", action="store_true", help="keep the temporary tree on exit")

    p = add("doctor", cmd_doctor, "what iwtui found in the install, per area")
    lists(p)
    p = add("status", cmd_status, "the live counts of the header: queues, spam lists, tarpit")
    lists(p)
    p = add("config", cmd_config, "the effective config, and where each value came from")
    lists(p)
    p = add("keys", cmd_keys, "every key binding with its id (remap by id in config)")
    lists(p)
    p = add("journal", cmd_journal, "the journal of actions, with their CLI equivalents")
    lists(p)
    p.add_argument("--max", type=count, default=50, help="the newest N entries (0 = all)")
    p = add("undo", cmd_undo, "undo a journaled action (default: the newest undoable)")
    p.add_argument("journal_id", nargs="?", metavar="JOURNAL-ID")
    writes(p)

    p = add("simulate", cmd_simulate, "write a simulated IceWarp tree and keep it alive")
    p.add_argument("root_dir", metavar="ROOT")
    p.add_argument("--seed", type=int, default=1, help="the same seed gives the same tree")
    p.add_argument("--once", action="store_true", help="write the tree and exit")
    p.add_argument("--fresh", action="store_true", help="rebuild a simulated tree from scratch")
    p.add_argument("--duration", type=number(0, 1e7), default=None, metavar="S",
                   help="live for S seconds")  # fmt: skip
    p.add_argument("--rate", type=number(0, 1e6), default=20.0, metavar="LINES_PER_S")
    p.add_argument("--days", type=count_upto(MAX_DAYS), default=1, metavar="N", help="days of logs, today included")  # fmt: skip
    p.add_argument("--log-mb", type=number(0, 1e5, low_open=False), default=2.0, metavar="M",
                   help="SMTP log size per day")  # fmt: skip
    p.add_argument("--queue", type=count, default=200, metavar="N", help="queued messages")
    p.add_argument("--quarantine", type=count, default=40, metavar="N")
    p.add_argument("--tarpit", type=count, default=12, metavar="N")
    p.add_argument("--start", metavar="ISO", help="the simulated 'now' (default: the clock)")
    p.add_argument("--time-format", choices=("hms", "rfc822"), default="hms")
    p.add_argument("--tid-digits", type=int, choices=(4, 8), default=4)
    p.add_argument("--exit-with-parent", action="store_true", help=argparse.SUPPRESS)
    p.add_argument(
        "--rotate-mb", type=float, default=64.0, help="rotate logs past this size (0: never)"
    )

"""What every command shares: the context (config, install, gate), confirmation,
running a plan through the action gate, JSON output, and the common options. Area
modules import this one, never the reverse."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from iwtui import config as config_mod
from iwtui.cli.options import add_nested, common_options, lists, writes
from iwtui.errors import Refused
from iwtui.icewarp.install import Install, discover
from iwtui.text import json_inert, safe_lines, safe_text

if TYPE_CHECKING:  # the gate is imported by the commands that write, not by listings
    from iwtui.icewarp import actions

EXIT_OK, EXIT_REFUSED, EXIT_BAD = 0, 1, 2

# ``add(name, func, help)``: a sub-command of ``iwtui`` with the common options.
Add = Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser]


@dataclass
class Context:
    loaded: config_mod.LoadedConfig
    args: argparse.Namespace

    @property
    def config(self) -> config_mod.Config:
        return self.loaded.config

    def install(self) -> Install:
        c = self.config
        return discover(
            getattr(self.args, "root", None),
            config_root=c.root,
            mail_path=c.mail_path,
            log_path=c.log_path,
            use_tool_sh=c.tool_sh,
        )

    def gate(self) -> actions.ActionGate:
        from iwtui.icewarp.actions import ActionGate

        return ActionGate(self.config.state_path(), read_only=self.config.read_only)


def context(args: argparse.Namespace) -> Context:
    cfg_file = getattr(args, "config", None)
    env = dict(os.environ)
    if cfg_file:
        env["IWTUI_CONFIG"] = cfg_file
    loaded = config_mod.load(env)
    loaded = loaded.with_overrides(
        root=getattr(args, "root", None),
        read_only=True if getattr(args, "read_only", False) else None,
    )
    return Context(loaded, args)


def confirm(args: argparse.Namespace, summary: str) -> bool:
    """Ask before a write. ``--dry-run`` says what would change; ``--yes`` acts; without
    either, ask on a terminal, and refuse when there is none."""
    if getattr(args, "dry_run", False):
        print(safe_text(f"dry run: would {summary[0].lower()}{summary[1:]}"))
        return False
    if getattr(args, "yes", False):
        return True
    if not sys.stdin.isatty():
        raise Refused(
            f"{summary}: no terminal to confirm on; pass --yes to act or --dry-run to preview"
        )
    try:
        answer = input(safe_text(f"{summary}? [y/N] "))
    except EOFError:
        answer = ""
    if answer.strip().lower() not in ("y", "yes"):
        raise Refused("not confirmed; nothing was changed")
    return True


EXIT_INTERRUPTED = 130
CLI_SHOWN = 20  # items a command lists before it asks (then "and N more")


@contextlib.contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """While a plan runs, SIGINT and SIGTERM only ask it to stop: the current step
    finishes and the journal is written (the gate checks the event between steps)."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def ask(_signum: int, _frame: object) -> None:
        stop.set()

    old = {s: signal.signal(s, ask) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def execute(gate: actions.ActionGate, plan: actions.Plan | None, gone_word: str = "already gone",
            run: Callable[[threading.Event], actions.Outcome] | None = None) -> int:  # fmt: skip
    """Run a confirmed plan (or ``run``, e.g. an undo) with SIGINT/SIGTERM turned into a
    stop request. Exit 0 done, 1 some failed, 130 interrupted (with how to undo)."""
    with stop_on_signals() as stop:
        if run is not None:
            outcome = run(stop)
        else:
            assert plan is not None
            outcome = gate.execute(plan, stop=stop)
    if outcome.interrupted:
        print(safe_lines(outcome.interrupted_message()), file=sys.stderr)
        return EXIT_INTERRUPTED
    print(safe_lines(outcome.message(gone_word=gone_word)))
    return 0 if outcome.complete else 1


def run_plan(args: argparse.Namespace, plan: actions.Plan, gone_word: str = "already gone") -> int:
    """List the plan's targets, confirm (the count is in the summary), act through the
    gate. Exit 0 when every target is done or gone, 1 when some failed, 130 when
    interrupted (SIGINT/SIGTERM: the current step finishes, the journal is written)."""
    gate = context(args).gate()
    gate.check(plan.action)
    for line in plan.items(CLI_SHOWN):  # names from data: inert (a file name can hold ESC)
        print(f"  {safe_text(line)}")
    if not confirm(args, plan.summary):
        return 0
    return execute(gate, plan, gone_word)


def emit_json(value: Any) -> None:
    # still JSON, with C1 controls escaped too (json escapes C0 itself)
    sys.stdout.write(json_inert(json.dumps(value, indent=2, ensure_ascii=False, default=str)))
    sys.stdout.write("\n")


__all__ = [
    "EXIT_BAD",
    "EXIT_OK",
    "EXIT_REFUSED",
    "Add",
    "Context",
    "add_nested",
    "common_options",
    "confirm",
    "context",
    "emit_json",
    "lists",
    "run_plan",
    "writes",
]

"""What every command shares: the context (config, install, gate), confirmation,
running a plan through the action gate, JSON output, and the common options. Area
modules import this one, never the reverse."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from iwtui import config as config_mod
from iwtui.cli.options import add_nested, common_options, lists, writes
from iwtui.errors import Refused
from iwtui.icewarp import actions
from iwtui.icewarp.install import Install, discover

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
        return actions.ActionGate(self.config.state_path(), read_only=self.config.read_only)


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
        print(f"dry run: would {summary[0].lower()}{summary[1:]}")
        return False
    if getattr(args, "yes", False):
        return True
    if not sys.stdin.isatty():
        raise Refused(
            f"{summary}: no terminal to confirm on; pass --yes to act or --dry-run to preview"
        )
    try:
        answer = input(f"{summary}? [y/N] ")
    except EOFError:
        answer = ""
    if answer.strip().lower() not in ("y", "yes"):
        raise Refused("not confirmed; nothing was changed")
    return True


def run_plan(args: argparse.Namespace, plan: actions.Plan, gone_word: str = "already gone") -> int:
    """List the plan's targets, confirm (the count is in the summary), act through the
    gate. Exit 0 when every target is done or gone, 1 when some failed."""
    gate = context(args).gate()
    gate.check(plan.action)
    for t in plan.targets:
        print(f"  {t}")
    if not confirm(args, plan.summary):
        return 0
    outcome = gate.execute(plan)
    print(outcome.message(gone_word=gone_word))
    return 0 if outcome.complete else 1


def emit_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, ensure_ascii=False, default=str)
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

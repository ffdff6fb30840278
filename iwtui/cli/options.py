"""The options every command shares, and the helpers that add them. Kept free of heavy
imports: `iwtui --help` builds its parser from this module alone."""

from __future__ import annotations

import argparse

TYPE_CHECKING = False  # not `typing`: start-up
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, NoReturn


class Parser(argparse.ArgumentParser):
    """A parser whose errors are one line (exit 2): what is wrong, and where the help is.
    Its sub-parsers are of this class too (argparse makes them of the parent's class)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def common_options(p: argparse.ArgumentParser, *, top: bool = False) -> None:
    d = None if top else argparse.SUPPRESS
    p.add_argument("--root", metavar="R", default=d, help="IceWarp install root")
    p.add_argument("--read-only", action="store_true", default=d, help="refuse every write")
    p.add_argument("--config", metavar="FILE", default=d, help="config file (else $IWTUI_CONFIG)")
    p.add_argument("--debug", action="store_true", default=d, help="show tracebacks")


def add_nested(
    sub: Any, dest: str, name: str, func: Callable[[argparse.Namespace], int], help_: str
) -> argparse.ArgumentParser:
    """A sub-sub-command (``iwtui logs show``): the common options, and ``func`` stored
    under ``dest`` for its group's dispatcher."""
    q: argparse.ArgumentParser = sub.add_parser(name, help=help_, description=help_)
    common_options(q)
    q.set_defaults(**{dest: func})
    return q


def writes(p: argparse.ArgumentParser) -> None:
    p.add_argument("--yes", action="store_true", help="act without asking")
    p.add_argument("--dry-run", action="store_true", help="say what would change, change nothing")


def lists(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable output")

"""The command line: the parser and ``main``. The shell's own commands are in
:mod:`iwtui.cli.shell`, each Status area's in its module (``AREA_MODULES``), the shared
machinery in :mod:`iwtui.cli.common`.

Every sub-command takes ``--root R`` and ``--read-only``; commands that write take
``--yes`` and ``--dry-run``; listings take ``--json``. Exit codes: 0 done, 1 refused or
partly done, 2 bad input or install not found. Errors are one line on stderr; ``--debug``
shows the traceback. Textual is imported only by the commands that draw a screen.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence

from iwtui.cli.common import EXIT_OK, EXIT_REFUSED, common_options, lists, writes
from iwtui.errors import IwtuiError

# One module per Status area, each with ``register(add, lists, writes)``.
AREA_MODULES = ("logs", "queue", "spam", "traffic", "analyzer", "accounts", "volume")


def _console(args: argparse.Namespace) -> int:
    from iwtui.cli.shell import cmd_tui

    return cmd_tui(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="iwtui",
        description="A terminal console for the Status node of IceWarp mail servers. "
        "Without a command, opens the full-screen console.",
    )
    common_options(parser, top=True)
    parser.set_defaults(func=_console)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    def add(
        name: str, func: Callable[[argparse.Namespace], int], help_: str
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        common_options(p)
        p.set_defaults(func=func)
        return p

    for name in ("shell", *AREA_MODULES):
        importlib.import_module(f"iwtui.cli.{name}").register(add, lists, writes)
    return parser


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except IwtuiError as exc:
        if getattr(args, "debug", False):
            raise
        print(f"iwtui: {_one_line(exc)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `iwtui ... | head`: the reader left; not an error.
        with_devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(with_devnull, sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # the last line of defence: one line, no traceback
        if getattr(args, "debug", False):
            raise
        print(
            f"iwtui: unexpected error: {type(exc).__name__}: {_one_line(exc)} "
            "(--debug shows the traceback)",
            file=sys.stderr,
        )
        return EXIT_REFUSED

"""The command line: the parser and ``main``. The shell's own commands are in
:mod:`iwtui.cli.shell`, each Status area's in its module (``AREA_MODULES``), the shared
machinery in :mod:`iwtui.cli.common`.

Every sub-command takes ``--root R`` and ``--read-only``; commands that write take
``--yes`` and ``--dry-run``; listings take ``--json``. Exit codes: 0 done, 1 refused or
partly done, 2 bad input or install not found. Errors are one line on stderr; ``--debug``
shows the traceback. Textual is imported only by the commands that draw a screen.
"""

from __future__ import annotations

import os
import sys

from iwtui.errors import IwtuiError

TYPE_CHECKING = False  # not `typing`: its import is half of `iwtui --version`
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence

EXIT_OK, EXIT_REFUSED = 0, 1  # as iwtui.cli.common (not imported here: start-up)

# One module per Status area, each with ``register(add, lists, writes)``.
AREA_MODULES = ("logs", "queue", "spam", "traffic", "analyzer", "accounts", "volume")

# Every command, the module that registers it and its one-line help: `iwtui --help` and
# `iwtui --version` need no area module, and a command imports only its own module
# (start-up stays near the interpreter's; tests/test_cli_startup.py keeps this in step).
COMMANDS: dict[str, tuple[str, str]] = {
    "tui": ("shell", "open the full-screen console (the default)"),
    "demo": ("shell", "the simulator, live in a temporary folder, plus the console on it"),
    "doctor": ("shell", "what iwtui found in the install, per area"),
    "status": ("shell", "the live counts of the header: queues, spam lists, tarpit"),
    "config": ("shell", "the effective config, and where each value came from"),
    "keys": ("shell", "every key binding with its id (remap by id in config)"),
    "journal": ("shell", "the journal of actions, with their CLI equivalents"),
    "undo": ("shell", "undo a journaled action (default: the newest undoable)"),
    "simulate": ("shell", "write a simulated IceWarp tree and keep it alive"),
    "logs": ("logs", "log files: list, show (filter, time range), parse, tail"),
    "sessions": ("logs", "SMTP, POP3 and IMAP sessions from the logs"),
    "queue": (
        "queue",
        "queued messages: list, show, delete, send now, bounce, whitelist, blacklist, reasons",
    ),
    "mailbox": ("queue", "a user's inbox or spam folder"),
    "spam": ("spam", "quarantine, whitelist and blacklist"),
    "greylist": ("spam", "greylisting entries"),
    "tarpit": ("spam", "intrusion prevention: tarpitted IPs"),
    "charts": ("traffic", "traffic charts: categories, show (issue 11)"),
    "stats": ("traffic", "a service's counters since its start of day (Statistics)"),
    "accounts": ("accounts", "account statistics: received, sent, sent out, last login, mailbox"),
    "volume": ("volume", "bytes and files of the server, a domain or an account"),
    "analyzer": ("analyzer", "Log Analyzer: logs into SQL, reports, custom SQL, mailed statistics"),
}
DESCRIPTION = (
    "A terminal console for the Status node of IceWarp mail servers. "
    "Without a command, opens the full-screen console."
)
_VALUED = ("--root", "--config")  # top-level options that take a value


def _console(args: argparse.Namespace) -> int:
    from iwtui.cli.shell import cmd_tui

    return cmd_tui(args)


def _command_of(argv: Sequence[str]) -> str | None:
    """The command word of ``argv`` (``iwtui --root R queue list`` -> ``queue``)."""
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word in _VALUED:
            skip = True
        elif not word.startswith("-"):
            return word
    return None


def build_parser(only: str | None = "*") -> argparse.ArgumentParser:
    """The parser. ``only="*"``: every command in full; ``only=None``: every command
    named from ``COMMANDS`` (enough for the top-level help); ``only=NAME``: the module of
    command NAME in full and no other sub-parser (an unknown NAME: every command)."""
    import argparse  # here, not at import: `iwtui --version` needs none of it
    import importlib

    from iwtui.cli.options import Parser, common_options, lists, writes

    if only is None:
        # the console or the top-level help: no sub-parsers (building 17 of them is most
        # of `iwtui --help`); the commands are listed below the options
        width = max(map(len, COMMANDS)) + 2
        listing = "\n".join(f"  {c:<{width}}{h}" for c, (_m, h) in COMMANDS.items())
        parser = Parser(
            prog="iwtui",
            usage="iwtui [options] [COMMAND ...]",
            description=DESCRIPTION,
            epilog=f"commands (iwtui COMMAND --help for each):\n{listing}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.add_argument("--version", action="version", version=f"iwtui {_version()}")
        common_options(parser, top=True)
        parser.set_defaults(func=_console)
        return parser
    parser = Parser(prog="iwtui", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"iwtui {_version()}")
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

    modules = ("shell", *AREA_MODULES)
    if only == "*":
        full = set(modules)
    else:
        full = {COMMANDS[only][0]} if only in COMMANDS else set(modules)
    for name in modules:  # (the others' sub-parsers cost ~0.5 ms each: not built)
        if name in full:
            importlib.import_module(f"iwtui.cli.{name}").register(add, lists, writes)
    return parser


# The top-level options as `iwtui --help` shows them (tests/test_cli_startup.py checks
# them against the parser's).
TOP_OPTIONS = (
    ("-h, --help", "show this help and exit"),
    ("--version", "show the version and exit"),
    ("--root R", "IceWarp install root"),
    ("--read-only", "refuse every write"),
    ("--config FILE", "config file (else $IWTUI_CONFIG)"),
    ("--debug", "show tracebacks"),
)


def top_help() -> str:
    """`iwtui --help`, without building a parser."""
    width = max(len(c) for c in (*COMMANDS, *(o for o, _h in TOP_OPTIONS))) + 2
    first, _, rest = DESCRIPTION.partition(". ")
    lines = ["usage: iwtui [options] [COMMAND ...]", "", f"{first}.", rest, "", "options:"]
    lines += [f"  {o:<{width}}{h}" for o, h in TOP_OPTIONS]
    lines += ["", "commands (iwtui COMMAND --help for each):"]
    lines += [f"  {c:<{width}}{h}" for c, (_m, h) in COMMANDS.items()]
    return "\n".join(lines)


def _version() -> str:
    from iwtui import __version__

    return __version__


def _replayed(argv: list[str]) -> bool:
    from iwtui.cli import replay

    try:
        return replay.replay(argv)
    except BrokenPipeError:  # the reader left: as main's own handler
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return True


def _one_line(exc: BaseException) -> str:
    from iwtui.text import safe_text  # an error may quote data (a file name): inert

    return safe_text(" ".join(str(exc).split()))


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv in (["--version"], ["--help"], ["-h"]):  # typed first after installing: fast
        try:
            print(f"iwtui {_version()}" if argv == ["--version"] else top_help())
        except BrokenPipeError:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    command = _command_of(argv)
    if command == "charts" and "show" in argv and _replayed(argv):
        return EXIT_OK  # the same answer as the last run: nothing it reads changed
    parser = build_parser(command)
    args = parser.parse_args(argv)
    args.command_line = argv  # (what iwtui.cli.replay keys an answer on)
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

"""Errors that end a command with a one-line message and a defined exit code.

Exit codes of the headless CLI: 0 done, 1 refused or partly done, 2 bad input or
install not found.
"""

from __future__ import annotations


class IwtuiError(Exception):
    """An expected failure: shown as one line, never as a traceback."""

    exit_code = 1


class BadInput(IwtuiError):
    exit_code = 2


class ConfigError(BadInput):
    """The config file is unreadable, or a key is unknown or of the wrong type."""


class InstallNotFound(BadInput):
    """No IceWarp install at the given or discovered root."""


class Refused(IwtuiError):
    """The action gate said no: read-only mode, no terminal to confirm, user declined."""

    exit_code = 1


class UnrecognisedLayout(Refused):
    """A file of an ASSUMED format is not in the layout iwtui knows how to write."""

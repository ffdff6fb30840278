"""Files shipped beside the code: keymaps/ and styles/ (top level in the source tree,
``iwtui/_resources/`` inside a built wheel)."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """The folder ``name`` (``keymaps`` or ``styles``) wherever this install keeps it."""
    for candidate in (_PACKAGE / "_resources" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"iwtui resource folder {name!r} is missing from this install")

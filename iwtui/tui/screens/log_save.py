"""The Logs area's Save dialog: where the shown lines go, as a full path the user can edit
(Enter saves, Esc cancels). A name that is taken, by a file or a link, is refused here and
again when the file is created (``moves.write_new``: a new file, links never followed,
nothing overwritten)."""

from __future__ import annotations

import os
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Static

from iwtui.text import safe_text
from iwtui.tui.bindings import bindings


def free_name(path: Path) -> Path:
    """``path``, or ``name.1.log``, ``name.2.log``... when that name is taken."""
    stem, n = path.name.removesuffix(".log"), 1
    while os.path.lexists(path):
        path = path.with_name(f"{stem}.{n}.log")
        n += 1
    return path


def check_target(text: str, cwd: Path) -> Path | str:
    """The absolute path to create, or why not."""
    if not text.strip():
        return "give a file name"
    path = Path(text.strip()).expanduser()
    if not path.is_absolute():
        path = cwd / path
    if os.path.lexists(path):
        return f"{path} exists: choose another name (nothing is overwritten)"
    if not path.parent.is_dir():
        return f"{path.parent} is not a folder"
    return path


class SaveLinesScreen(ModalScreen[Path | None]):
    """Ask where to save; dismissed with the path, or None."""

    BINDINGS = bindings("explore")  # Esc closes
    DEFAULT_CSS = """
    SaveLinesScreen { align: center middle; }
    SaveLinesScreen > Vertical { width: 90%; height: auto; border: round $accent;
                                 background: $surface; padding: 0 1; }
    SaveLinesScreen #save-what { height: auto; }
    SaveLinesScreen #save-error { height: auto; color: $error; }
    """

    def __init__(self, default: Path, what: str, cwd: Path) -> None:
        super().__init__()
        self.default, self.what, self.cwd = default, what, cwd

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(safe_text(self.what)), id="save-what")
            yield Input(str(self.default), id="save-target")
            yield Static(Text("Enter saves, Esc cancels; an existing file is never replaced",
                              style="dim"), id="save-error")  # fmt: skip
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def action_dismiss_none(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted, "#save-target")
    def submitted(self, event: Input.Submitted) -> None:
        got = check_target(event.value, self.cwd)
        if isinstance(got, str):
            self.query_one("#save-error", Static).update(Text(safe_text(got), style="bold"))
            return
        self.dismiss(got)

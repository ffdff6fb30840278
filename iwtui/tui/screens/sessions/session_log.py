"""One session's whole protocol log (and its related flow/performance lines), savable."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Static

from iwtui.icewarp.logs.lines import safe_text
from iwtui.icewarp.logs.manage import save_lines
from iwtui.icewarp.logs.sessions import Session
from iwtui.tui.bindings import bindings
from iwtui.tui.widgets.log_view import LogView

STATE_STYLE = {
    "active": "bold yellow",
    "success": "bold green",
    "failed": "bold red",
    "disconnected": "bold #b5651d",
}


class ListSource:
    """A fixed list of lines as a LogView source."""

    def __init__(self, lines: list[str], day: date) -> None:
        self.lines, self.day = lines, day
        self.prepended = 0

    @property
    def total(self) -> int:
        return len(self.lines)

    def line(self, i: int) -> str:
        return self.lines[i]

    def day_of(self, i: int) -> date:
        return self.day


def session_title(s: Session) -> Text:
    when = f"{s.start:%Y-%m-%d %H:%M:%S}" if s.start else "?"
    return Text.assemble(
        (f" {s.kind} ", "reverse"),
        " ",
        (s.state, STATE_STYLE.get(s.state, "")),
        f"  {s.service} [{s.thread}]  {safe_text(s.peer)}  {when}",
        f"  {s.duration_s:.0f} s" if s.duration_s is not None else "",
        f"  {s.line_count:,} lines",
        (f"  {safe_text(s.reason, 200)}" if s.reason else "", "red"),
    )


def session_lines(s: Session, related: dict[str, list[str]]) -> list[str]:
    lines = [ln.raw for ln in s.lines]
    if s.line_count > len(s.lines):
        lines.append(
            f"… {s.line_count - len(s.lines):,} more lines: iwtui sessions show --service {s.service} --date {s.day} --thread {s.thread}"
        )
    for svc, extra in related.items():
        lines.append(f"── related lines in the {svc} log (same thread, same time) ──")
        lines.extend(extra)
    return lines


class SessionLogScreen(ModalScreen[None]):
    BINDINGS = bindings("session_log")
    DEFAULT_CSS = """
    SessionLogScreen { align: center middle; }
    SessionLogScreen > Vertical { width: 95%; height: 90%; border: round $accent; background: $surface; }
    SessionLogScreen #session-title { height: auto; padding: 0 1; }
    SessionLogScreen #save-path { display: none; }
    SessionLogScreen #save-path.shown { display: block; }
    """

    def __init__(self, session: Session, related: dict[str, list[str]], save_dir: Path) -> None:
        super().__init__()
        self.session, self.related = session, related
        self.lines = session_lines(session, related)
        self.save_dir = save_dir

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(session_title(self.session), id="session-title")
            yield LogView(id="session-log")
            yield Input(id="save-path", placeholder="save to file (Enter), Esc cancels")
        yield Footer()

    def on_mount(self) -> None:
        view = self.query_one(LogView)
        view.set_source(ListSource(self.lines, self.session.day), follow=False)
        view.focus()

    def action_close(self) -> None:
        box = self.query_one("#save-path", Input)
        if box.has_class("shown"):
            box.remove_class("shown")
            self.query_one(LogView).focus()
            return
        self.dismiss(None)

    def action_save(self) -> None:
        box = self.query_one("#save-path", Input)
        s = self.session
        box.value = str(self.save_dir / f"session-{s.service}-{s.day}-{s.thread}.log")
        box.add_class("shown")
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        path = Path(event.value).expanduser()
        box = self.query_one("#save-path", Input)
        if path.exists():
            self.notify(
                f"{path} exists; choose another name (nothing is overwritten)", severity="warning"
            )
            return
        try:
            n = save_lines(self.lines, path)
        except OSError as exc:
            self.notify(f"{path}: {exc.strerror or exc}", title="Not saved", severity="error")
            return
        box.remove_class("shown")
        self.query_one(LogView).focus()
        self.notify(f"{n:,} lines saved to {path}", title="Saved")

    def action_kill(self) -> None:
        self.notify(
            "Killing a session is not available: IceWarp exposes no interface for it that "
            "iwtui could call (spec, section 4). Use IceWarp's console, or block the IP in "
            "Spam Queues > Intrusion Prevention.",
            title="Unavailable",
            severity="warning",
            timeout=10,
        )

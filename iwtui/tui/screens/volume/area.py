"""Status > Volume: bytes and files of the server, a domain or an account, by walking its
folders; streamed totals and progress while it walks, Esc cancels (the partial totals
stay, marked), the previous result beside the current one with the difference, one row
per top folder, export as JSON or in ncdu's format.

The target is typed (completion from the mail store: Tab or right arrow takes the
suggestion) or comes from Account Statistics (``v``). The per-folder cache is held here,
so a Refresh with nothing changed only looks at each folder once.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.suggester import Suggester
from textual.widgets import Input, Static

from iwtui.errors import BadInput
from iwtui.icewarp.install import Install
from iwtui.icewarp.logs.lines import safe_text
from iwtui.icewarp.volume import ncdu, targets
from iwtui.icewarp.volume.folders import FolderCache
from iwtui.icewarp.volume.measure import Child, VolumeResult, measure, previous_of
from iwtui.icewarp.volume.walk import Progress
from iwtui.tui.bindings import bindings
from iwtui.tui.widgets.item_table import Column, ItemTable
from iwtui.units import compact_bytes, compact_count
from iwtui.units import human_bytes as human

if TYPE_CHECKING:
    from iwtui.config import LoadedConfig
    from iwtui.tui.areas import AreaInfo


def _now() -> datetime:
    """Now (tests and screenshots pin it)."""
    return datetime.now()


def _signed(n: int, fmt: type[str] | None = None) -> str:
    sign = "+" if n > 0 else "-" if n < 0 else "±"
    return sign + (human(abs(n)) if fmt is None else f"{abs(n):,}")


class TargetSuggester(Suggester):
    """Completion from the mail store: ``server``, domains, ``user@domain``."""

    def __init__(self, mail_dir: Path) -> None:
        super().__init__(use_cache=False, case_sensitive=False)
        self.mail_dir = mail_dir

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        got = targets.completions(self.mail_dir, value, limit=1)
        return got[0] if got else None


class TargetInput(Input):
    """The target field: Tab takes the suggestion (as the right arrow does)."""

    BINDINGS = bindings("volume_target")

    def action_complete(self) -> None:
        if self._suggestion and self._suggestion != self.value:
            self.value = self._suggestion
            self.cursor_position = len(self.value)
        else:
            self.screen.focus_next()


class VolumeArea(Vertical):
    can_focus = False
    BINDINGS = bindings("volume")

    @classmethod
    def from_app(cls, info: AreaInfo, install: Install, loaded: LoadedConfig) -> VolumeArea:
        """The registry's constructor (``iwtui.tui.areas``)."""
        return cls(install, loaded.config.state_path())

    def __init__(self, install: Install, state_dir: Path) -> None:
        super().__init__(id="volume", classes="area")
        self.install = install
        self.state_dir = state_dir
        self.cache = FolderCache()  # the walker's per-folder cache, held
        self.target = "server"
        self.result: VolumeResult | None = None
        self.progress: Progress | None = None
        self.running = False
        self.error: str | None = None
        self.saved: list[Path] = []
        self._cancel = threading.Event()
        self._started = False
        self._to_top = True

    def compose(self) -> ComposeResult:
        with Horizontal(id="volume-controls"):
            yield Static("Target", id="volume-label")
            yield TargetInput(
                value="server",
                placeholder="server, a domain or user@domain",
                suggester=TargetSuggester(self.install.mail_dir),
                id="volume-target",
            )
        yield Static(id="volume-summary")
        # the largest first (negated keys; the header's arrow points down)
        columns: list[Column[Child]] = [
            Column("Folder", 0, lambda c: c.name, lambda c: c.name),
            Column("Size", 11, lambda c: human(c.bytes), lambda c: -c.bytes, "right",
                   narrow=lambda c: compact_bytes(c.bytes), descending=True),
            Column("Bytes", 16, lambda c: f"{c.bytes:,}", lambda c: -c.bytes, "right",
                   descending=True),
            Column("Files", 11, lambda c: f"{c.files:,}", lambda c: -c.files, "right",
                   narrow=lambda c: compact_count(c.files), descending=True),
            Column("Share", 7, self._share_text, lambda c: -c.bytes, "right", descending=True),
        ]  # fmt: skip
        table: ItemTable[Child] = ItemTable(columns, key=lambda c: c.name, id="volume-rows")
        table.sort_column = 1
        yield table
        yield Static(id="volume-errors")

    def _share_text(self, c: Child) -> str:
        total = self.result.bytes if self.result else (self.progress.bytes if self.progress else 0)
        return f"{100 * c.bytes / total:.1f}%" if total else "—"

    def focus(self, scroll_visible: bool = True) -> VolumeArea:
        self.query_one("#volume-rows", ItemTable).focus(scroll_visible)
        return self

    def on_show(self) -> None:
        if not self._started:
            self._started = True
            self.start(self.target)
        else:
            self._paint()

    # -- actions ------------------------------------------------------------------------

    def show_target(self, target: str) -> None:
        """Measure ``target`` (from Account Statistics' ``v``)."""
        self.query_one("#volume-target", Input).value = target
        self._started = True
        self.start(target)

    def action_refresh(self) -> None:
        self.start(self.query_one("#volume-target", Input).value or "server")

    def action_cancel(self) -> None:
        if self.running:
            self._cancel.set()
        else:
            self.focus()

    def action_edit_target(self) -> None:
        self.query_one("#volume-target", Input).focus()

    @on(Input.Submitted, "#volume-target")
    def _submitted(self, event: Input.Submitted) -> None:
        self.start(event.value or "server")
        self.focus()

    def start(self, text: str) -> None:
        if self.running:
            self._cancel.set()
            return
        try:
            target = targets.resolve(self.install, text)
        except BadInput as exc:
            self.error = str(exc)
            self._paint()
            return
        self.error = None
        self.target = target.name
        self.query_one("#volume-target", Input).value = target.name
        self.running = True
        self.progress = None
        if self.result is None or self.result.target != target.name:
            self.result = None
            self._to_top = True  # a new target: its rows from the top, biggest first
        self._cancel = threading.Event()
        self._paint()
        self._walk(target)

    @work(thread=True, exclusive=True, group="volume")
    def _walk(self, target: targets.Target) -> None:
        def progress(p: Progress) -> None:
            self.app.call_from_thread(self._progressed, p)

        try:
            result = measure(self.install, None, self.state_dir, target=target, cache=self.cache,
                             progress=progress, cancel=self._cancel, now=_now)  # fmt: skip
        except OSError as exc:
            self.app.call_from_thread(self._failed, f"{target.path}: {exc.strerror or exc}")
            return
        self.app.call_from_thread(self._done, result)

    def _progressed(self, p: Progress) -> None:
        if self.running:
            self.progress = p
            self._paint()

    def _failed(self, message: str) -> None:
        self.running = False
        self.error = message
        self._paint()

    def _done(self, result: VolumeResult) -> None:
        self.running = False
        self.result = result
        self._paint()

    def action_export_json(self) -> None:
        r = self.result
        if r is None or self.running:
            self.notify("Nothing measured yet", severity="warning")
            return
        path = _free(Path.cwd() / f"iwtui-volume-{_stem(r.target)}-{r.at[:10]}.json")
        try:
            path.write_text(json.dumps(r.to_json(), indent=2, ensure_ascii=False) + "\n")
        except OSError as exc:
            self.notify(f"{path}: {exc.strerror or exc}", title="Not saved", severity="error")
            return
        self.saved = [path]
        self.notify(str(path), title="Volume saved (JSON)")

    def action_export_ncdu(self) -> None:
        if self.running:
            return
        try:
            target = targets.resolve(self.install, self.target)
        except BadInput as exc:
            self.notify(str(exc), severity="error")
            return
        path = _free(Path.cwd() / f"iwtui-volume-{_stem(target.name)}.ncdu.json")
        self.notify(f"writing {path}…", title="ncdu export")
        self._ncdu(target.path, path)

    @work(thread=True, group="volume-ncdu")
    def _ncdu(self, folder: str, path: Path) -> None:
        try:
            ncdu.export(folder, path)
        except OSError as exc:
            self.app.call_from_thread(self.notify, f"{path}: {exc.strerror or exc}",
                                      title="Not saved", severity="error")  # fmt: skip
            return
        self.saved = [path]
        self.app.call_from_thread(self.notify, f"{path} (browse: ncdu -f {path.name})",
                                  title="ncdu export written")  # fmt: skip

    # -- drawing ------------------------------------------------------------------------

    def _paint(self) -> None:
        summary = self.query_one("#volume-summary", Static)
        table = self.query_one("#volume-rows", ItemTable)
        errors = self.query_one("#volume-errors", Static)
        if self.error:
            summary.update(Text(self.error, style="bold red"))
            table.set_rows([], initial=True)
            errors.update("")
            return
        line = Text()
        r, p = self.result, self.progress
        if self.running:
            files = p.files if p else 0
            nbytes = p.bytes if p else 0
            folders = p.folders if p else 0
            line.append(f"Walking {self.target}… ", style="bold yellow")
            line.append(f"{human(nbytes)}  {files:,} files  {folders:,} folders")
            line.append("   Esc cancels (the totals so far stay)", style="dim")
            if p is not None:
                done = [Child(n, b, f) for n, b, f, _d in p.units if b or f or _d]
                table.set_rows(done, initial=True)  # rows of a walk are not "new" items
                if self._to_top:
                    table.move_to(0)
            prev = previous_of(self.state_dir, self.install, self.target)
            if prev is not None:
                line.append(f"\nPrevious  {human(prev.bytes)}  {prev.files:,} files  at {prev.at}")
            summary.update(line)
            return
        if r is None:
            summary.update(Text("Enter a target and press Enter (R: measure again)", style="dim"))
            return
        state = ("Current", "bold") if r.complete else ("Cancelled: partial", "bold yellow")
        line.append(f"{state[0]}  ", style=state[1])
        line.append(f"{human(r.bytes)}  ({r.bytes:,} bytes)  {r.files:,} files  at {r.at}")
        line.append(f"   {safe_text(r.target)} ({r.kind})", style="dim")
        if r.previous is not None and r.difference is not None:
            db, df = r.difference
            line.append(f"\nPrevious  {human(r.previous.bytes)}  ({r.previous.bytes:,} bytes)  "
                        f"{r.previous.files:,} files  at {r.previous.at}")  # fmt: skip
            style = "green" if db < 0 else "red" if db > 0 else "dim"
            line.append(f"\nDifference  {_signed(db)}  {_signed(df, str)} files", style=style)
        else:
            line.append("\nPrevious  none: this is the first measurement", style="dim")
        summary.update(line)
        table.set_rows(r.children, initial=True)
        if self._to_top:
            table.move_to(0)
            self._to_top = False
        if r.errors:
            shown = "; ".join(f"{safe_text(pth)}: {safe_text(e)}" for pth, e in r.errors[:3])
            more = f" (+{len(r.errors) - 3} more)" if len(r.errors) > 3 else ""
            errors.update(Text(f"Not read: {shown}{more}", style="red"))
        else:
            errors.update("")


def _stem(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_.@" else "_" for ch in name)[:80]


def _free(path: Path) -> Path:
    n, base = 1, path
    while path.exists():
        path = base.with_name(f"{base.stem}.{n}{base.suffix}")
        n += 1
    return path

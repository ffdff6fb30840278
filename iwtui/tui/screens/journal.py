"""The journal of actions: what iwtui changed (newest first), each with its equivalent
command, whether it can be undone, and the key that undoes the highlighted one."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from iwtui.icewarp.actions import ActionGate
from iwtui.text import safe_text
from iwtui.tui.bindings import bindings, effective_keys, key_display

SHOWN = 200  # newest entries listed


def entry_text(entry: dict[str, Any], undoable: bool) -> Text:
    """One journal entry: id, time, who, summary and state; its command below."""
    t = Text()
    t.append(safe_text(str(entry.get("id", ""))), style="bold")
    t.append(
        f"  {safe_text(str(entry.get('time', '')))}  {safe_text(str(entry.get('user', '')))}  "
    )
    t.append(safe_text(str(entry.get("summary", entry.get("action", ""))), 160))
    state = entry.get("state")
    if state in ("interrupted", "running"):
        done, total = len(entry.get("done", ())), len(entry.get("targets", ()))
        t.append(f"  {state}: {done} of {total} done", style="yellow")
    elif entry.get("failed"):
        t.append(f"  {len(entry['failed'])} failed", style="red")
    if undoable:
        t.append("  undo-able", style="green")
    elif entry.get("action") == "undo":
        t.append(f"  (undid {safe_text(str(entry.get('undoes', '')))})", style="dim")
    t.append("\n    ")
    t.append(safe_text(str(entry.get("cli", "")), 200), style="dim")
    return t


class JournalScreen(ModalScreen[str | None]):
    """Dismisses with the id of the entry to undo (Enter or the undo key), or None."""

    BINDINGS = bindings("journal")

    def __init__(self, gate: ActionGate, keymap: dict[str, str]) -> None:
        super().__init__()
        self.gate = gate
        self.keymap = keymap
        self.undoable_ids: set[str] = set()

    def compose(self) -> ComposeResult:
        view = self.gate.view()
        entries = list(reversed(view.entries))[:SHOWN]
        self.undoable_ids = {e["id"] for e in self.gate.undoable(view.entries)}
        undo_key = key_display(effective_keys("journal.undo", self.keymap).split(",")[0])
        close_key = key_display(effective_keys("journal.close", self.keymap).split(",")[0])
        with Vertical(id="journal-box"):
            head = Text(f"Journal of actions: {self.gate.journal_path}", style="bold")
            head.append(f"\n{len(view.entries):,} entries, newest first; ", style="dim")
            head.append(f"{undo_key} undoes the highlighted one, {close_key} closes", style="dim")
            if view.damaged:
                head.append(f"\n{len(view.damaged)} damaged line(s) skipped", style="yellow")
            yield Static(head, id="journal-head")
            options = [Option(entry_text(e, e["id"] in self.undoable_ids), id=e["id"]) for e in entries]  # fmt: skip
            yield OptionList(*options, id="journal-list")
            if not entries:
                yield Static("The journal is empty: nothing was changed through iwtui yet.")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_undo(self) -> None:
        option = self.query_one(OptionList).highlighted_option
        if option is None or option.id is None:
            return
        if option.id not in self.undoable_ids:
            self.app.notify(f"{option.id} has nothing left to undo", title="Journal")
            return
        self.dismiss(option.id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.action_undo()

    def action_cursor(self, step: int) -> None:
        listing = self.query_one(OptionList)
        if step > 0:
            listing.action_cursor_down()
        else:
            listing.action_cursor_up()

"""Textual bindings built from the keymap, each carrying its id (remappable by id)."""

from __future__ import annotations

from textual.binding import Binding, BindingType

from iwtui.keymap import scope


def bindings(name: str, *, priority: bool = False) -> list[BindingType]:
    return [
        Binding(s.keys, s.action, s.description, show=s.show, id=s.id, priority=priority)
        for s in scope(name)
    ]

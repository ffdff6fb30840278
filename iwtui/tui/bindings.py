"""Textual bindings built from the keymap, each carrying its id (remappable by id)."""

from __future__ import annotations

from collections.abc import Mapping

from textual.binding import Binding, BindingType
from textual.keys import format_key

from iwtui.keymap import default_keymap, scope


def bindings(name: str, *, priority: bool = False) -> list[BindingType]:
    return [
        Binding(s.keys, s.action, s.description, show=s.show, id=s.id, priority=priority)
        for s in scope(name)
    ]


def key_display(keys: str) -> str:
    """Keys as a person reads them: ``right_square_bracket,f5`` -> ``] f5``,
    ``ctrl+s`` -> ``^s``."""
    shown = []
    for key in (k.strip() for k in keys.split(",") if k.strip()):
        *mods, name = key.split("+")
        text = format_key(name)
        if "ctrl" in mods:
            mods.remove("ctrl")
            text = f"^{text}"
        shown.append("+".join([*mods, text]))
    return " ".join(shown)


def effective_keys(binding_id: str, overrides: Mapping[str, str]) -> str:
    """The keys of a binding after the config's keymap."""
    return overrides.get(binding_id) or default_keymap()[binding_id].keys

"""The keymap: every binding has an id, default keys come from keymaps/default.yaml.

This module only reads data; ``iwtui.tui.bindings`` turns entries into Textual bindings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import yaml

from iwtui.resources import resource_dir


@dataclass(frozen=True)
class KeySpec:
    id: str
    keys: str
    action: str
    description: str
    show: bool = True


@cache
def default_keymap() -> dict[str, KeySpec]:
    """All bindings by id, in file order."""
    path = resource_dir("keymaps") / "default.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    specs: dict[str, KeySpec] = {}
    for scope, entries in data.items():
        for name, entry in (entries or {}).items():
            bid = f"{scope}.{name}"
            specs[bid] = KeySpec(
                id=bid,
                keys=str(entry["keys"]),
                action=str(entry["action"]),
                description=str(entry.get("description", "")),
                show=bool(entry.get("show", True)),
            )
    return specs


# Scopes of modal screens: their keys shadow the app's on purpose (q closes help).
MODAL_SCOPES = frozenset({"help", "confirm", "session_log", "explore", "journal"})


def _keys(text: str) -> set[str]:
    return {k.strip() for k in text.split(",") if k.strip()}


def conflicts(overrides: Mapping[str, str]) -> list[str]:
    """Keys a remapped binding would share with another binding that is active at the
    same time (the same scope, or the app's and an area's): the first would silently
    win, and the navigation and help would show a key that does something else."""
    specs = default_keymap()
    keys = {bid: _keys(overrides.get(bid) or s.keys) for bid, s in specs.items()}
    found = []
    for bid in overrides:
        if bid not in specs:
            continue
        mine = bid.split(".", 1)[0]
        for other, their in keys.items():
            if other == bid:
                continue
            theirs = other.split(".", 1)[0]
            together = mine == theirs or (
                "app" in (mine, theirs) and not {mine, theirs} & MODAL_SCOPES
            )
            shared = keys[bid] & their
            if together and shared:
                found.append(f"{bid} and {other} both use {', '.join(sorted(shared))}")
    return found


def scope(name: str) -> list[KeySpec]:
    prefix = f"{name}."
    return [s for s in default_keymap().values() if s.id.startswith(prefix)]

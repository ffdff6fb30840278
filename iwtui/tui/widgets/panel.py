"""A fixed-size text panel that repaints without a relayout (``Static.update`` asks for a
layout pass every time, which is what a status line updated on every key must avoid)."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget


class Panel(Widget):
    text: reactive[Text] = reactive(Text(), layout=False)

    def update(self, text: Text | str) -> None:
        new = text if isinstance(text, Text) else Text(text)
        if new != self.text:  # the same words and styles: nothing to repaint
            self.text = new

    def render(self) -> Text:
        return self.text

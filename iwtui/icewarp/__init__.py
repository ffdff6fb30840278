"""The core: an IceWarp install as data. Never imports Textual (a test proves it)."""

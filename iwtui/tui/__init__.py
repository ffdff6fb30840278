"""The full-screen console (Textual). Reads only through ``iwtui.icewarp``."""

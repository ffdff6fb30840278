"""iwtui: a terminal console for the Status node of IceWarp mail servers."""

__version__ = "0.1.0"

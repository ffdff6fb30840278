"""Log Analyzer: import logs into SQL, preset and custom reports (its own issue).

Like ``iwtui.icewarp``, this package never imports Textual.
"""

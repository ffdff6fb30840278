"""Volume (issue 12): bytes and files of the server, a domain or an account.

``targets`` resolves what is measured, ``walk`` counts it (``helper``: the second process
of a big first walk), ``store`` keeps the per-folder cache and the previous results,
``measure`` ties them together, ``ncdu`` writes ncdu's export format.
"""

"""Logs (spec section 5): file names and the catalog, line parsing, the block index,
filtering, following across rotation, sessions; the engine other areas read logs with."""

"""Traffic (spec section 4): per-minute counters from every log, persisted in SQLite with
hourly and daily rollups; the engine of Traffic Charts, Statistics and Account Statistics."""

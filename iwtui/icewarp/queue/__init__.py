"""Message Queue (spec section 2): the queue folders, reading queued files' headers,
scanning 100,000 items, deferral reasons from the SMTP log, and the queue actions."""

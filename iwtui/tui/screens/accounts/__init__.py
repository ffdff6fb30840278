"""Status > Account Statistics (issue 12)."""

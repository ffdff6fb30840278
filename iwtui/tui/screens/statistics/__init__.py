"""Status > Statistics (issue 11)."""

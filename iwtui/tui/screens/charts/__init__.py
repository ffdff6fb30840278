"""Status > Traffic Charts (issue 11)."""

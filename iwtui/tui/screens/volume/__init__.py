"""Status > Volume (issue 12)."""

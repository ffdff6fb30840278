"""The Sessions area: active and history sessions per service, and one session's log."""

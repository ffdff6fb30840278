"""The Message Queue area: the queue table, its dialogs (reasons, owner, message text)."""

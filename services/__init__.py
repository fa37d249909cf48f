"""The three services: dispatch, notify, reporting."""

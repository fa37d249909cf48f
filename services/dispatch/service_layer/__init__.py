"""Handlers that load a stream, let the domain decide, and append inside one transaction."""

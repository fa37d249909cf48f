"""notify's pure domain (no I/O)."""

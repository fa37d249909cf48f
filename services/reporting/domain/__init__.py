"""reporting's pure domain (no I/O)."""

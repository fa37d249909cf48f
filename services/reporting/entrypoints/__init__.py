"""reporting's entrypoints (HTTP app, consumer loops)."""

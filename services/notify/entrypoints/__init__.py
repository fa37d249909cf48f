"""notify's entrypoints (HTTP app, consumer loops)."""

"""dispatch's entrypoints: the FastAPI app, the relay loop, the CLI commands."""

"""notify's adapters (SQL, NATS, channels)."""

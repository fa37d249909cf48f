"""reporting's adapters (SQL, NATS, channels)."""

"""dispatch's adapters: the SQL event store with its outbox, and the NATS relay."""

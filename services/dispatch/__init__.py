"""dispatch: the only writer of work orders; its SQL event store is the system of record."""

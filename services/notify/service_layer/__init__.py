"""notify's handlers."""

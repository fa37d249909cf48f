"""reporting's handlers."""

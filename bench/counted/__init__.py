"""dispatch with its SQL statements counted (bench/statements.py), for bench/profile_report.py."""

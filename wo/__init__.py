"""The `wo` command line: run the local stack, mint development tokens, operate services."""

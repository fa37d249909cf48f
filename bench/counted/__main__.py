"""`python -m bench.counted`: dispatch as deployed, its SQL statements counted by kind;
SIGUSR1 writes the counts so far to the file named by `STATEMENT_COUNTS`.

A package of its own, not a script under bench/: `make bench` runs every `bench/*.py`
with a main block, and this is a server a benchmark starts, not a benchmark.
"""

from bench.statements import serve_counted_dispatch

if __name__ == "__main__":
    serve_counted_dispatch()

"""`python -m wo`: the same as the `wo` console script."""

from wo.cli import app

app(prog_name="wo")

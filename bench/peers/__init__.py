"""The peers dispatch's report command is measured against (bench/ingest.py): what a user
who does not pick dispatch would write instead, each served as dispatch is served."""

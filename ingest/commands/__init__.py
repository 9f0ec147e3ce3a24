"""The commands of `python -m ingest`, one module per family; `ingest.cli` parses the
command line and dispatches here."""

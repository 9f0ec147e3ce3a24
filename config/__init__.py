"""Settings shared by the ingest, the dashboard and the machine API."""

"""The REST read layer over materialized race data (FastAPI)."""

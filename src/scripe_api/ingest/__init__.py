"""Ingest (INGEST.md): text out of uploaded files, fetched pages and YouTube transcripts."""

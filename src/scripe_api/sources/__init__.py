"""Sources (INGEST.md §2): raw material for generations, typed in or extracted from a file."""

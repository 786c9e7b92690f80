"""Uploads (INGEST.md §1): single-use URLs, and the bytes behind them."""

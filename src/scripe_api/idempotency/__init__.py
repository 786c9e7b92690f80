"""Idempotency-Key: one record per (workspace, method + route template, key), API.md §3."""

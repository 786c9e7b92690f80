"""The `scripe-api` command-line interface."""

from scripe_api.cli.app import main

__all__ = ["main"]

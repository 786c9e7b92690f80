"""The CLI for knowledge tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripe_api.settings import Settings
from tests.cli.conftest import Cli, operator_environment


@pytest.fixture
def cli(base_settings: Settings, migrated: None, tmp_path: Path) -> Cli:
    """The CLI pointed at the test database."""
    return Cli(operator_environment(base_settings), tmp_path)

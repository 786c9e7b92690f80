from __future__ import annotations

from pathlib import Path

import pytest

from tests.contract.generator_venv import generator_venv, sdk_venv


@pytest.fixture(scope="session")
def openapi_python_client() -> Path:
    """The python of openapi-python-client's own virtualenv (installed on first use)."""
    return generator_venv() / "bin" / "python"


@pytest.fixture(scope="session")
def sdk_python() -> Path:
    """The python of the virtualenv the generated SDK is installed into."""
    return sdk_venv() / "bin" / "python"

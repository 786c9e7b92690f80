"""Virtualenvs of their own for openapi-python-client (it pins an older Typer than ours) and
for the SDK it generates (installed with pip, as an SDK user would).

Created once and kept across test sessions under the user's cache folder, keyed by what they
hold; a lock makes concurrent sessions wait for the one that is installing it.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

OPENAPI_PYTHON_CLIENT_VERSION = "0.29.1"
INSTALL_TIMEOUT_SECONDS = 600


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "scripe-api"


def generator_venv(version: str = OPENAPI_PYTHON_CLIENT_VERSION) -> Path:
    """The virtualenv's folder, with `openapi-python-client==version` installed in it."""
    return cached_venv(f"openapi-python-client-{version}", f"openapi-python-client=={version}")


def sdk_venv() -> Path:
    """An empty virtualenv (but pip) for installing the generated SDK into."""
    return cached_venv("generated-sdk", "pip")


def cached_venv(name: str, *requirements: str) -> Path:
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    venv = root / name
    ready = venv / ".installed"
    with (root / f"{venv.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if ready.exists():
            return venv
        # A half-made one (an interrupted install) is made again from scratch.
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run(
            [sys.executable, "-m", "venv", str(venv)],
            check=True,
            capture_output=True,
            timeout=INSTALL_TIMEOUT_SECONDS,
        )
        install = subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                *requirements,
            ],
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_SECONDS,
            check=False,
        )
        if install.returncode != 0:
            raise RuntimeError(
                f"installing {' '.join(requirements)} failed:\n{install.stdout}\n{install.stderr}"
            )
        ready.touch()
    return venv

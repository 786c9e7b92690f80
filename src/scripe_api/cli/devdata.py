"""Files `scripe-api dev` keeps in its data folder beside the embedded servers.

`secret` is the dev server secret (created once, mode 0600): keys made in dev stay valid across
restarts. `state.json` exists while a dev process runs, so admin commands can find its database.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from scripe_api.cli.errors import CliError

DEFAULT_DATA_DIR = Path(".scripe")


@dataclass(frozen=True)
class DevState:
    database_url: str
    redis_url: str
    api_url: str
    pid: int


@dataclass(frozen=True)
class DevData:
    folder: Path

    @property
    def secret_path(self) -> Path:
        return self.folder / "secret"

    @property
    def state_path(self) -> Path:
        return self.folder / "state.json"

    def load_or_create_secret(self) -> str:
        existing = self.read_secret()
        if existing is not None:
            return existing
        self.folder.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(48)
        # O_EXCL + 0600 from the start: the secret is never readable by others, not even briefly.
        descriptor = os.open(self.secret_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secret + "\n")
        return secret

    def read_secret(self) -> str | None:
        try:
            secret = self.secret_path.read_text().strip()
        except FileNotFoundError:
            return None
        if not secret:
            raise CliError(f"{self.secret_path} is empty; delete it to make a new dev secret")
        return secret

    def write_state(self, state: DevState) -> None:
        partial = self.state_path.with_suffix(".json.partial")
        partial.write_text(json.dumps(asdict(state), indent=2) + "\n")
        partial.replace(self.state_path)

    def remove_state(self, pid: int) -> None:
        """Remove state.json if it is `pid`'s (never another process's)."""
        try:
            state = self._read_state()
        except CliError:
            return  # unreadable: not provably ours, and `running_state` reports it
        if state is not None and state.pid == pid:
            self.state_path.unlink(missing_ok=True)

    def running_state(self) -> DevState | None:
        """The state of a dev process that is still alive, or None."""
        state = self._read_state()
        if state is None or not is_alive(state.pid):
            return None
        return state

    def _read_state(self) -> DevState | None:
        try:
            raw = json.loads(self.state_path.read_text())
            return DevState(
                database_url=str(raw["database_url"]),
                redis_url=str(raw["redis_url"]),
                api_url=str(raw["api_url"]),
                pid=int(raw["pid"]),
            )
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):
            raise CliError(f"{self.state_path} is unreadable; delete it and retry") from None


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by another user
    return True

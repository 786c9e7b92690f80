"""End to end: a live-key job through a real worker whose provider is the OpenAI-compatible
one, pointed at a loopback server; the post is saved and the day's spend shows its real cost."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.db.models import Post
from scripe_api.settings import ModelPrice, Settings
from scripe_api.spend import repository as spend_ledger
from tests.factories import Factory, Tenant
from tests.jobs.calls import TERMINAL, poll_job
from tests.providers.calls import API_KEY, MODEL
from tests.providers.fake_api import FakeApi, Reply, api_error, openai_completion
from workers.main import create_worker

REPLY = "Title: Four-minute deploys\n\nWe cut deploys from 40 minutes to 4.\n\n#Engineering"


def live_settings(settings: Settings, fake: FakeApi, timeout_seconds: float = 30.0) -> Settings:
    return settings.model_copy(
        update={
            "generator_provider": "openai",
            "generator_model": MODEL,
            "openai_base_url": f"{fake.url}/v1",
            "openai_api_key": SecretStr(API_KEY),
            "provider_prices": {
                MODEL: ModelPrice(input_cents_per_mtok=250, output_cents_per_mtok=1000)
            },
            "provider_timeout_seconds": timeout_seconds,
        }
    )


async def run_live_job(
    client: httpx.AsyncClient,
    settings: Settings,
    factory: Factory,
    fake: FakeApi,
    tenant: Tenant,
    timeout_seconds: float = 30.0,
) -> dict[str, Any]:
    """Submit a generation and run a real worker on the OpenAI-compatible provider until the
    job ends."""
    live = live_settings(settings, fake, timeout_seconds)
    project = await factory.project(tenant.workspace.id)
    submitted = await client.post(
        "/v1/posts/generations",
        headers=tenant.headers,
        json={"projectId": project.id, "source": {"text": "Deploys took 40 minutes; now 4."}},
    )
    assert submitted.status_code == 202, submitted.text
    worker = create_worker(live, handle_signals=False)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_until(stop, live.worker_shutdown_grace_seconds))
    try:
        return await poll_job(
            client, tenant.headers, submitted.json()["data"]["id"], until=TERMINAL
        )
    finally:
        stop.set()
        await task


async def test_openai_job_is_done_and_billed_at_its_actual_cost(
    client: httpx.AsyncClient,
    settings: Settings,
    factory: Factory,
    sessionmaker: async_sessionmaker[AsyncSession],
    fake: FakeApi,
) -> None:
    # 3 000 + 1 000 tokens at 250¢ / 1000¢ per million: 0.75¢ + 1¢ → 2¢ (estimate: 5¢).
    fake.replies = [
        Reply.json(openai_completion(REPLY, prompt_tokens=3000, completion_tokens=1000))
    ]
    tenant = await factory.tenant()
    done = await run_live_job(client, settings, factory, fake, tenant)
    assert done["status"] == "DONE", done
    [request] = fake.requests
    assert request.body["model"] == MODEL
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert "Deploys took 40 minutes; now 4." in request.body["messages"][1]["content"]
    async with sessionmaker() as session:
        post = await session.get(Post, done["result"]["postId"])
        (spend,) = (await spend_ledger.buckets(session, tenant.workspace.id)).values()
    assert post is not None
    assert (post.title, post.content) == (
        "Four-minute deploys",
        "We cut deploys from 40 minutes to 4.\n\n#Engineering",
    )
    assert (spend.reserved_cents, spend.actual_cents) == (0, 2)


@pytest.mark.parametrize(
    ("reply", "code", "attempts"),
    [
        (
            Reply.json(api_error("rate_limit_error", "slow down"), 429, **{"retry-after": "1"}),
            "provider_rate_limited",
            3,
        ),
        (Reply.json(api_error("server_error", "boom"), 500), "provider_error", 3),
        (Reply(hang=True), "provider_timeout", 3),
        (Reply.json(api_error("invalid_request_error", "bad model"), 400), "provider_error", 1),
    ],
    ids=["429", "500", "timeout", "400"],
)
async def test_provider_failures_retry_then_fail_with_their_code_and_bill_nothing(
    client: httpx.AsyncClient,
    settings: Settings,
    factory: Factory,
    sessionmaker: async_sessionmaker[AsyncSession],
    fake: FakeApi,
    reply: Reply,
    code: str,
    attempts: int,
) -> None:
    fake.replies = [reply]
    tenant = await factory.tenant()
    # A short timeout only where the fake hangs: elsewhere a slow machine must not retry.
    timeout = 0.5 if reply.hang else 30.0
    failed = await run_live_job(client, settings, factory, fake, tenant, timeout)
    assert (failed["status"], failed["errorCode"], failed["attemptCount"]) == (
        "FAILED",
        code,
        attempts,
    )
    assert len(fake.requests) == attempts
    async with sessionmaker() as session:
        (spend,) = (await spend_ledger.buckets(session, tenant.workspace.id)).values()
    assert (spend.reserved_cents, spend.actual_cents) == (0, 0)


async def test_a_refusal_fails_at_once_and_is_charged_what_the_provider_billed(
    client: httpx.AsyncClient,
    settings: Settings,
    factory: Factory,
    sessionmaker: async_sessionmaker[AsyncSession],
    fake: FakeApi,
) -> None:
    # 3 000 + 1 000 tokens at 250¢ / 1000¢ per million: 2¢, billed although refused.
    fake.replies = [
        Reply.json(
            openai_completion(
                "", prompt_tokens=3000, completion_tokens=1000, refusal="I can't help with that."
            )
        )
    ]
    tenant = await factory.tenant()
    failed = await run_live_job(client, settings, factory, fake, tenant)
    assert (failed["status"], failed["errorCode"], failed["attemptCount"]) == (
        "FAILED",
        "content_rejected",
        1,
    )
    async with sessionmaker() as session:
        (spend,) = (await spend_ledger.buckets(session, tenant.workspace.id)).values()
    assert (spend.reserved_cents, spend.actual_cents) == (0, 2)

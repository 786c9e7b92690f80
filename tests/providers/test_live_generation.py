"""End to end: a live-key job through a real worker whose provider is the OpenAI-compatible
one, pointed at a loopback server; the post is saved and the day's spend shows its real cost."""

from __future__ import annotations

import asyncio

import httpx
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.db.models import Post, SpendBucket
from scripe_api.settings import ModelPrice, Settings
from tests.factories import Factory
from tests.jobs.calls import TERMINAL, poll_job
from tests.providers.calls import API_KEY, MODEL
from tests.providers.fake_api import FakeApi, Reply, openai_completion
from workers.main import create_worker

REPLY = "Title: Four-minute deploys\n\nWe cut deploys from 40 minutes to 4.\n\n#Engineering"


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
    live = settings.model_copy(
        update={
            "generator_provider": "openai",
            "generator_model": MODEL,
            "openai_base_url": f"{fake.url}/v1",
            "openai_api_key": SecretStr(API_KEY),
            "provider_prices": {
                MODEL: ModelPrice(input_cents_per_mtok=250, output_cents_per_mtok=1000)
            },
        }
    )
    tenant = await factory.tenant()
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
        done = await poll_job(
            client, tenant.headers, submitted.json()["data"]["id"], until=TERMINAL
        )
    finally:
        stop.set()
        await task
    assert done["status"] == "DONE", done
    [request] = fake.requests
    assert request.body["model"] == MODEL
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert "Deploys took 40 minutes; now 4." in request.body["messages"][1]["content"]
    async with sessionmaker() as session:
        post = await session.get(Post, done["result"]["postId"])
        spend = await session.scalar(
            select(SpendBucket).where(SpendBucket.workspace_id == tenant.workspace.id)
        )
    assert post is not None
    assert (post.title, post.content) == (
        "Four-minute deploys",
        "We cut deploys from 40 minutes to 4.\n\n#Engineering",
    )
    assert spend is not None
    assert (spend.reserved_cents, spend.actual_cents) == (0, 2)

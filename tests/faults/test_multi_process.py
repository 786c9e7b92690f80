"""§3 idempotency and the §6 cap across processes: two `scripe-api serve` processes and two
workers on one database. The guarantees live in Postgres, so they hold whichever API process a
request reaches."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.settings import Settings
from tests.factories import Factory
from tests.faults.calls import settle
from tests.faults.ledger import (
    assert_reconciled_once,
    jobs_of,
    per_job,
    posts_of,
    read_ledger,
)
from tests.faults.processes import api_process, client_of, worker_process
from tests.scripted_provider import release_key, script

CAP = 103
ESTIMATE = 5


def shared_settings(settings: Settings) -> Settings:
    caps = dict(settings.plan_spend_caps_cents)
    caps["ADVANCED"] = CAP
    # Bursts of concurrent requests on a 2-core machine: this is about correctness, not latency.
    return settings.model_copy(
        update={
            "plan_spend_caps_cents": caps,
            "db_pool_size": 10,
            "db_max_overflow": 10,
            "db_pool_timeout_seconds": 60,
        }
    )


@pytest.mark.slow
async def test_idempotency_and_spend_cap_hold_across_two_apis_and_two_workers(
    fault_settings: Settings,
    fault_factory: Factory,
    fault_sessionmaker: async_sessionmaker[AsyncSession],
    fault_redis: Redis,
    tmp_path: Path,
) -> None:
    settings = shared_settings(fault_settings)
    tenant = await fault_factory.tenant()
    project = await fault_factory.project(tenant.workspace.id)
    block = "two-apis"
    async with contextlib.AsyncExitStack() as stack:
        apis = [
            await stack.enter_async_context(api_process(settings, tmp_path / f"api-{n}.log"))
            for n in range(2)
        ]
        for n in range(2):
            await stack.enter_async_context(worker_process(settings, tmp_path / f"w-{n}.log"))
        clients = [
            await stack.enter_async_context(client_of(api, **tenant.headers)) for api in apis
        ]
        alternating = itertools.cycle(clients)

        def generation(text: str, key: str | None = None) -> asyncio.Task[httpx.Response]:
            headers = {"Idempotency-Key": key} if key else {}
            body = {"projectId": project.id, "source": {"text": text}}
            client = next(alternating)
            return asyncio.ensure_future(
                client.post("/v1/posts/generations", json=body, headers=headers)
            )

        # Idempotency: each key sent 6 times at once, half to each API; and one key sent at
        # once with two different bodies.
        same_body = {
            f"same-{n}": [generation(script(block=block), f"same-{n}") for _ in range(6)]
            for n in range(4)
        }
        rival = [generation(script(block=block, n=n % 2), "rival") for n in range(6)]
        answers = {key: await asyncio.gather(*tasks) for key, tasks in same_body.items()}
        rival_answers = await asyncio.gather(*rival)

        idempotent_jobs = set()
        for key, responses in answers.items():
            created = [r for r in responses if r.headers.get("idempotent-replayed") == "false"]
            replayed = [r for r in responses if r.headers.get("idempotent-replayed") == "true"]
            in_use = [r for r in responses if r.status_code == 409]
            assert len(created) == 1, (key, [r.text for r in responses])
            assert len(created) + len(replayed) + len(in_use) == len(responses)
            for response in (*created, *replayed):
                assert response.status_code == 202
            # A replay is the recorded answer, byte for byte.
            assert {r.content for r in (*created, *replayed)} == {created[0].content}
            for response in in_use:
                assert response.json()["error"]["code"] == "idempotency_key_in_use"
                assert response.headers["retry-after"] == "1"
            idempotent_jobs.add(created[0].json()["data"]["id"])
        rival_created = [
            r for r in rival_answers if r.headers.get("idempotent-replayed") == "false"
        ]
        assert len(rival_created) == 1, [r.text for r in rival_answers]
        for response in rival_answers:
            if response is not rival_created[0] and response.status_code != 202:
                assert response.status_code == 409
                assert response.json()["error"]["code"] in (
                    "idempotency_key_conflict",
                    "idempotency_key_in_use",
                )
        idempotent_jobs.add(rival_created[0].json()["data"]["id"])
        jobs = await jobs_of(fault_sessionmaker, tenant.workspace.id)
        assert set(jobs) == idempotent_jobs  # one job per key, whichever API answered

        # The cap: a burst split across both APIs; 5 jobs already hold 25¢ of the 103¢.
        burst = await asyncio.gather(*(generation(script(block=block)) for _ in range(60)))
        accepted = [r for r in burst if r.status_code == 202]
        refused = [r for r in burst if r.status_code == 402]
        assert len(accepted) + len(refused) == len(burst), {r.status_code for r in burst}
        assert len(accepted) == CAP // ESTIMATE - len(idempotent_jobs)
        for response in refused:
            error = response.json()["error"]
            assert error["code"] == "spend_cap_exceeded"
            assert error["meta"]["spentCents"] + error["meta"]["estimateCents"] > CAP
        ledger = await read_ledger(fault_sessionmaker, tenant.workspace.id)
        (bucket,) = ledger.buckets.values()
        assert bucket.reserved_cents + bucket.actual_cents <= CAP
        assert bucket.reserved_cents == ESTIMATE * len(ledger.reservations)

        await fault_redis.set(release_key(block), "1")
        all_ids = [*idempotent_jobs, *(r.json()["data"]["id"] for r in accepted)]
        done = await settle(clients[0], all_ids)
    assert {job["status"] for job in done} == {"DONE"}
    assert per_job(await posts_of(fault_sessionmaker, tenant.workspace.id)) == dict.fromkeys(
        all_ids, 1
    )
    assert_reconciled_once(await read_ledger(fault_sessionmaker, tenant.workspace.id), all_ids)

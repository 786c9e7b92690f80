"""Webhook delivery when things go wrong (WEBHOOKS.md §2, §3): receivers that fail, throttle,
leave, redirect, hang or come back; a worker killed mid-delivery; Redis emptied; one slow
endpoint among others; and recovering deliveries from the log."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.db.pool import Database
from scripe_api.settings import Settings
from scripe_api.webhooks import outbox
from tests.factories import Factory, Tenant
from tests.webhooks.receiver import Answer, Received, Receiver, free_socket, receiving
from tests.webhooks.support import (
    api,
    create_endpoint,
    create_note,
    deliveries,
    get_endpoint,
    service,
    wait_for_deliveries,
    wait_for_endpoint,
)
from tests.workers_support import running_worker, worker_process


def answering(*answers: Answer, then: Answer = (204, {}, b"")) -> Any:
    """A responder giving `answers` in turn, then `then` for good."""
    queue = list(answers)

    async def respond(_: Received) -> Answer:
        return queue.pop(0) if queue else then

    return respond


async def setup(
    client: httpx.AsyncClient, factory: Factory, url: str
) -> tuple[Tenant, str, dict[str, Any]]:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    endpoint = await create_endpoint(client, tenant, url, ["note.created"])
    return tenant, project.id, endpoint


async def test_failed_attempts_are_retried_with_the_same_webhook_id(
    settings: Settings, factory: Factory
) -> None:
    receiver = Receiver(respond=answering((500, {}, b"boom"), (503, {}, b"later")))
    async with receiving(receiver), service(settings) as client:
        tenant, project_id, endpoint = await setup(client, factory, receiver.url)
        await create_note(client, tenant, project_id)
        log = await wait_for_deliveries(client, tenant, endpoint["id"], "succeeded")
    assert len(receiver.requests) == 3
    assert len({r.webhook_id for r in receiver.requests}) == 1
    assert len({r.body for r in receiver.requests}) == 1  # the same bytes every time
    for request in receiver.requests:
        request.verify(endpoint["secret"])
    (delivery,) = log
    assert delivery["attempts"] == 3
    assert delivery["lastResponseStatus"] == 204
    assert delivery["eventId"] == receiver.requests[0].webhook_id


async def test_retry_after_is_honoured(settings: Settings, factory: Factory) -> None:
    receiver = Receiver(respond=answering((429, {"Retry-After": "1"}, b"slow down")))
    async with receiving(receiver), service(settings) as client:
        tenant, project_id, endpoint = await setup(client, factory, receiver.url)
        await create_note(client, tenant, project_id)
        pending = await wait_for_deliveries(client, tenant, endpoint["id"], "pending")
        await wait_for_deliveries(client, tenant, endpoint["id"], "succeeded")
    first, second = receiver.arrivals
    # The schedule says 0.1 s; the receiver asked for a second.
    assert second - first >= 0.9
    assert pending[0]["status"] == "pending"


async def test_410_disables_the_endpoint(settings: Settings, factory: Factory) -> None:
    receiver = Receiver(respond=answering(then=(410, {}, b"gone")))
    async with receiving(receiver), service(settings) as client:
        tenant, project_id, endpoint = await setup(client, factory, receiver.url)
        await create_note(client, tenant, project_id)
        disabled = await wait_for_endpoint(client, tenant, endpoint["id"])
        await create_note(client, tenant, project_id)
        (delivery,) = await deliveries(client, tenant, endpoint["id"])
    assert disabled["disabledReason"] == "gone"
    assert len(receiver.requests) == 1  # nothing more once disabled (no new delivery either)
    assert delivery["lastResponseStatus"] == 410
    assert delivery["status"] == "pending"  # kept for when the endpoint is activated again


async def test_redirects_are_not_followed(settings: Settings, factory: Factory) -> None:
    async with receiving() as elsewhere:
        receiver = Receiver(respond=answering((302, {"Location": elsewhere.url}, b"")))
        async with receiving(receiver), service(settings) as client:
            tenant, project_id, endpoint = await setup(client, factory, receiver.url)
            await create_note(client, tenant, project_id)
            log = await wait_for_deliveries(client, tenant, endpoint["id"], "succeeded")
    assert elsewhere.requests == []
    assert len(receiver.requests) == 2
    assert log[0]["attempts"] == 2


async def test_a_receiver_that_does_not_answer_in_time(
    settings: Settings, factory: Factory
) -> None:
    answered = asyncio.Event()

    async def hang_once(_: Received) -> Answer:
        if not answered.is_set():
            answered.set()
            await asyncio.sleep(5)
        return 200, {}, b"ok"

    receiver = Receiver(respond=hang_once)
    quick = settings.model_copy(update={"webhook_timeout_seconds": 0.5})
    async with receiving(receiver), service(quick) as client:
        tenant, project_id, endpoint = await setup(client, factory, receiver.url)
        await create_note(client, tenant, project_id)
        log = await wait_for_deliveries(client, tenant, endpoint["id"], "succeeded")
    assert len(receiver.requests) == 2
    assert log[0]["attempts"] == 2


async def test_receiver_down_then_up_with_redis_emptied_loses_nothing(
    settings: Settings, factory: Factory, redis: Redis
) -> None:
    patient = settings.model_copy(update={"webhook_retry_schedule_seconds": [0.2] * 30})
    sock = free_socket()  # bound, not listening: connections are refused until it serves
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/hooks"
    async with service(patient) as client:
        tenant, project_id, endpoint = await setup(client, factory, url)
        notes = [await create_note(client, tenant, project_id) for _ in range(5)]
        # Several attempts fail while the receiver is down.
        deadline = time.monotonic() + 15
        while not all(
            one["attempts"] >= 2 for one in await deliveries(client, tenant, endpoint["id"])
        ):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        failed = await deliveries(client, tenant, endpoint["id"])
        assert {one["status"] for one in failed} == {"pending"}
        assert all(one["lastError"] for one in failed)
        await redis.flushall()
        async with receiving(sock=sock) as receiver:
            await wait_for_deliveries(client, tenant, endpoint["id"], "succeeded", 5)
    received = {r.event["data"]["id"] for r in receiver.requests}
    assert received == {note["id"] for note in notes}


async def test_schedule_exhaustion_then_replay_and_redeliver(
    settings: Settings, factory: Factory
) -> None:
    failing = True

    async def respond(_: Received) -> Answer:
        return (500, {}, b"down") if failing else (200, {}, b"thanks")

    receiver = Receiver(respond=respond)
    short = settings.model_copy(update={"webhook_retry_schedule_seconds": [0.05, 0.05]})
    async with receiving(receiver), service(short) as client:
        tenant, project_id, endpoint = await setup(client, factory, receiver.url)
        await create_note(client, tenant, project_id)
        await create_note(client, tenant, project_id)
        log = await wait_for_deliveries(client, tenant, endpoint["id"], "failed", 2)
        assert all(one["attempts"] == 3 for one in log)
        assert all(one["nextAttemptAt"] is None for one in log)
        failed_only = await deliveries(client, tenant, endpoint["id"], status="failed")
        assert len(failed_only) == 2
        assert await deliveries(client, tenant, endpoint["id"], status="succeeded") == []

        failing = False
        since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        replay = await client.post(
            f"/v1/webhook-endpoints/{endpoint['id']}/replay",
            headers=tenant.headers,
            json={"since": since, "status": "failed"},
        )
        assert replay.status_code == 202, replay.text
        assert replay.json() == {"data": {"queued": 2}}
        await wait_for_deliveries(client, tenant, endpoint["id"], "succeeded", 2)

        # A succeeded delivery sent again on request: the same webhook-id.
        target = log[0]
        before = len(receiver.requests)
        redelivered = await client.post(
            f"/v1/webhook-endpoints/{endpoint['id']}/deliveries/{target['id']}/redeliver",
            headers=tenant.headers,
        )
        assert redelivered.status_code == 202, redelivered.text
        assert redelivered.json()["data"]["status"] == "pending"
        await receiver.wait_for(lambda got: len(got) > before)
        assert receiver.requests[-1].webhook_id == target["eventId"]

        too_old = (datetime.now(UTC) - timedelta(days=31)).isoformat()
        refused = await client.post(
            f"/v1/webhook-endpoints/{endpoint['id']}/replay",
            headers=tenant.headers,
            json={"since": too_old},
        )
        assert refused.status_code == 400
        unknown = await client.post(
            f"/v1/webhook-endpoints/{endpoint['id']}/deliveries/whd_unknown/redeliver",
            headers=tenant.headers,
        )
        assert unknown.status_code == 404


async def test_an_endpoint_failing_for_too_long_is_disabled(
    settings: Settings, factory: Factory
) -> None:
    receiver = Receiver(respond=answering(then=(500, {}, b"broken")))
    impatient = settings.model_copy(
        update={
            "webhook_retry_schedule_seconds": [0.1] * 50,
            "webhook_disable_after_seconds": 0.5,
        }
    )
    async with receiving(receiver), service(impatient) as client:
        tenant, project_id, endpoint = await setup(client, factory, receiver.url)
        await create_note(client, tenant, project_id)
        disabled = await wait_for_endpoint(client, tenant, endpoint["id"])
        assert disabled["disabledReason"] == "failing"
        assert disabled["failingSince"] is not None
        count = len(receiver.requests)
        # Activated again: the streak starts over and the pending delivery resumes.
        receiver.respond = answering()
        await client.patch(
            f"/v1/webhook-endpoints/{endpoint['id']}",
            headers=tenant.headers,
            json={"isActive": True},
        )
        await wait_for_deliveries(client, tenant, endpoint["id"], "succeeded")
        again = await get_endpoint(client, tenant, endpoint["id"])
    assert len(receiver.requests) > count
    assert again["failingSince"] is None
    assert again["isActive"] is True


async def test_an_address_that_turned_private_disables_the_endpoint(
    settings: Settings, factory: Factory
) -> None:
    async with receiving() as receiver:
        async with api(settings) as client:  # created where private addresses are allowed
            tenant, project_id, endpoint = await setup(client, factory, receiver.url)
            await create_note(client, tenant, project_id)
        strict = settings.model_copy(update={"webhook_allow_private_urls": False})
        async with service(strict) as client:
            disabled = await wait_for_endpoint(client, tenant, endpoint["id"])
            (delivery,) = await deliveries(client, tenant, endpoint["id"])
    assert disabled["disabledReason"] == "ssrf_blocked"
    assert receiver.requests == []
    assert "refused" in delivery["lastError"]


async def test_deliveries_during_a_rotation_verify_with_either_secret(
    settings: Settings, factory: Factory
) -> None:
    async with receiving() as receiver, service(settings) as client:
        tenant, project_id, endpoint = await setup(client, factory, receiver.url)
        rotated = await client.post(
            f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret", headers=tenant.headers
        )
        new_secret = rotated.json()["data"]["secret"]
        await create_note(client, tenant, project_id)
        (request,) = await receiver.wait_for(lambda got: len(got) >= 1)
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert request.verify(endpoint["secret"]) == request.verify(new_secret)


async def test_after_the_overlap_only_the_new_secret_signs(
    settings: Settings, factory: Factory
) -> None:
    no_overlap = settings.model_copy(update={"webhook_secret_overlap_seconds": 0})
    async with receiving() as receiver, service(no_overlap) as client:
        tenant, project_id, endpoint = await setup(client, factory, receiver.url)
        rotated = await client.post(
            f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret", headers=tenant.headers
        )
        await create_note(client, tenant, project_id)
        (request,) = await receiver.wait_for(lambda got: len(got) >= 1)
    request.verify(rotated.json()["data"]["secret"])
    assert len(request.headers["webhook-signature"].split(" ")) == 1


async def test_a_worker_killed_mid_delivery_delivers_again_with_the_same_id(
    settings: Settings, factory: Factory
) -> None:
    first_arrived = asyncio.Event()

    async def hold_the_first(_: Received) -> Answer:
        if not first_arrived.is_set():
            first_arrived.set()
            await asyncio.sleep(30)  # the worker dies while waiting for this answer
        return 204, {}, b""

    receiver = Receiver(respond=hold_the_first)
    slow_timeout = settings.model_copy(update={"webhook_timeout_seconds": 20.0})
    async with receiving(receiver), api(slow_timeout) as client:
        tenant, project_id, endpoint = await setup(client, factory, receiver.url)
        async with worker_process(slow_timeout) as process:
            await create_note(client, tenant, project_id)
            await asyncio.wait_for(first_arrived.wait(), 20)
            os.kill(process.pid, signal.SIGKILL)
        async with running_worker(slow_timeout):
            log = await wait_for_deliveries(client, tenant, endpoint["id"], "succeeded")
    assert len(receiver.requests) == 2
    assert receiver.requests[0].webhook_id == receiver.requests[1].webhook_id
    assert log[0]["attempts"] == 2


async def test_a_slow_endpoint_does_not_hold_back_the_others(
    settings: Settings,
    factory: Factory,
    database: Database,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    in_flight = 0
    most = 0

    async def slow(_: Received) -> Answer:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        try:
            await asyncio.sleep(0.5)
        finally:
            in_flight -= 1
        return 204, {}, b""

    async with (
        receiving(Receiver(respond=slow)) as slow_receiver,
        receiving() as fast_receiver,
        service(settings) as client,
    ):
        busy, busy_project, busy_endpoint = await setup(client, factory, slow_receiver.url)
        calm, calm_project, _ = await setup(client, factory, fast_receiver.url)
        async with database.connection() as connection, connection.transaction():
            for number in range(1000):
                await outbox.record(
                    connection,
                    busy.workspace.id,
                    busy_project,
                    ("note.created",),
                    f'{{"id": "note_{number}"}}',
                )
        await slow_receiver.wait_for(lambda got: len(got) >= 1)
        note = await create_note(client, calm, calm_project)
        (request,) = await fast_receiver.wait_for(lambda got: len(got) >= 1, within=5)
        assert request.event["data"] == note
        async with sessionmaker() as session:
            pending = await session.scalar(
                text(
                    "SELECT count(*) FROM webhook_deliveries "
                    "WHERE endpoint_id = :e AND status = 'pending'"
                ),
                {"e": busy_endpoint["id"]},
            )
        assert pending is not None
        assert pending > 900  # the slow endpoint is still far behind
    assert most <= settings.webhook_endpoint_concurrency

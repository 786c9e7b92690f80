from __future__ import annotations

import asyncio
import os
import signal
import time
from types import FrameType

from scripe_api.main import create_app
from scripe_api.settings import Settings
from tests.apps import serve
from tests.factories import Factory


async def test_stop_signal_answers_waiting_requests_at_once(
    settings: Settings, factory: Factory
) -> None:
    tenant = await factory.tenant()
    project = await factory.project(tenant.workspace.id)
    received: list[int] = []

    def server_handler(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    original = signal.signal(signal.SIGTERM, server_handler)
    try:
        async with serve(create_app(settings)) as client:
            # No worker runs: without the shutdown hook this request would wait 20 s.
            waiting = asyncio.create_task(
                client.post(
                    "/v1/posts/generations",
                    headers=tenant.headers,
                    json={
                        "projectId": project.id,
                        "source": {"text": "Shutdown drill."},
                        "wait_for_completion_ms": 20_000,
                    },
                )
            )
            # Until the job is committed, i.e. the request is at (or about to enter) its wait;
            # a hub closed before the wait registers answers at once all the same.
            deadline = time.monotonic() + 5
            while not (await client.get("/v1/jobs", headers=tenant.headers)).json()["data"]:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.02)
            started = time.monotonic()
            os.kill(os.getpid(), signal.SIGTERM)
            response = await asyncio.wait_for(waiting, 5)
            elapsed = time.monotonic() - started
    finally:
        signal.signal(signal.SIGTERM, original)
    assert response.status_code == 202
    assert response.json()["data"]["status"] == "QUEUED"
    assert elapsed < 5
    assert received == [signal.SIGTERM]  # the server's own handler still ran

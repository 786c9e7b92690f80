"""What the API process holds for its lifetime, reachable as `app.state.services`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from scripe_api.api.access import Gatekeeper
from scripe_api.api.ratelimit import RateLimits
from scripe_api.auth.service import Authenticator
from scripe_api.core.pagination import CursorCodec
from scripe_api.db.pool import Database
from scripe_api.idempotency.service import Policy
from scripe_api.jobs import events as job_events
from scripe_api.jobs.estimates import EstimateCache
from scripe_api.jobs.notifications import CompletionHub
from scripe_api.jobs.queue import Queue
from scripe_api.ratelimit.limiter import SlidingWindowLimiter
from scripe_api.resources import Resources, create_redis
from scripe_api.settings import Settings
from scripe_api.uploads.storage import Storage, open_storage

# Event streams reading their job's log at once, per process (a Redis pool holds 256).
STREAM_READS = 32


@dataclass(frozen=True, slots=True)
class Collaborators:
    """What the request pipeline itself works with (`api.pipeline`), built once per process
    and reachable as `app.state.pipeline`; an operation's own needs come from its signature."""

    gatekeeper: Gatekeeper
    database: Database
    idempotency: Policy


@dataclass
class Services:
    settings: Settings
    resources: Resources
    cursors: CursorCodec
    estimates: EstimateCache
    completions: CompletionHub
    # Wakes the event streams (GET /v1/jobs/{jobId}/events) as their jobs' events are logged.
    events: CompletionHub
    # How many of those streams read the log at once (see jobs.stream.StreamSettings).
    stream_reads: asyncio.Semaphore
    pipeline: Collaborators
    queue: Queue
    # Where uploaded bytes are kept (disk, or an S3-compatible store).
    storage: Storage

    @property
    def database(self) -> Database:
        return self.resources.database

    @classmethod
    def build(cls, settings: Settings, resources: Resources) -> Services:
        authenticator = Authenticator(settings, resources.database)
        limits = RateLimits(settings, SlidingWindowLimiter(resources.redis))
        gatekeeper = Gatekeeper(authenticator, limits, frozenset(settings.api_plans))
        return cls(
            settings=settings,
            resources=resources,
            cursors=CursorCodec(settings.secrets_newest_first()),
            estimates=EstimateCache(resources.database, settings.estimate_refresh_seconds),
            completions=CompletionHub(create_redis(settings, for_subscription=True)),
            events=CompletionHub(
                create_redis(settings, for_subscription=True), channel=job_events.CHANNEL
            ),
            stream_reads=asyncio.Semaphore(STREAM_READS),
            pipeline=Collaborators(gatekeeper, resources.database, Policy.from_settings(settings)),
            queue=Queue(resources.redis),
            storage=open_storage(settings),
        )

    def begin_shutdown(self) -> None:
        """Answer every waiting request now, with the job's current state; end every event
        stream (a last `status` first)."""
        self.completions.close()
        self.events.close()

    async def close(self) -> None:
        self.completions.close()
        self.events.close()
        await self.completions.aclose()
        await self.events.aclose()
        await self.resources.close()

"""What the API process holds for its lifetime, reachable as `app.state.services`."""

from __future__ import annotations

from dataclasses import dataclass, field

from scripe_api.api.access import AccessHook
from scripe_api.auth.service import Authenticator
from scripe_api.core.pagination import CursorCodec
from scripe_api.jobs.estimates import EstimateCache
from scripe_api.jobs.hooks import JobHooks
from scripe_api.jobs.notifications import CompletionHub
from scripe_api.ratelimit.hook import RateLimitHook
from scripe_api.ratelimit.limiter import SlidingWindowLimiter
from scripe_api.resources import Resources, create_redis
from scripe_api.settings import Settings
from scripe_api.spend.service import reconcile_job


@dataclass
class Services:
    settings: Settings
    resources: Resources
    authenticator: Authenticator
    cursors: CursorCodec
    estimates: EstimateCache
    completions: CompletionHub
    job_hooks: JobHooks
    access_hooks: list[AccessHook] = field(default_factory=list)

    @classmethod
    def build(cls, settings: Settings, resources: Resources) -> Services:
        rate_limits = RateLimitHook(settings, SlidingWindowLimiter(resources.redis))
        job_hooks = JobHooks()
        job_hooks.on_terminal(reconcile_job)
        return cls(
            settings=settings,
            resources=resources,
            authenticator=Authenticator(settings, resources.sessionmaker),
            cursors=CursorCodec(settings.secrets_newest_first()),
            estimates=EstimateCache(resources.sessionmaker, settings.estimate_refresh_seconds),
            completions=CompletionHub(create_redis(settings, for_subscription=True)),
            job_hooks=job_hooks,
            access_hooks=[rate_limits],
        )

    def begin_shutdown(self) -> None:
        """Answer every waiting request now, with the job's current state."""
        self.completions.close()

    async def close(self) -> None:
        self.completions.close()
        await self.completions.aclose()
        await self.resources.close()

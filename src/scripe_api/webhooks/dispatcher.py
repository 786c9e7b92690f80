"""The webhook dispatcher: sends committed outbox deliveries, on the worker side (WEBHOOKS.md §2).

A loop in each worker process claims due deliveries from Postgres (at most
`webhook_endpoint_concurrency` in flight per endpoint, `webhook_concurrency` per process) and
sends each under a lease. Postgres is the only queue: nothing is lost when Redis is emptied or a
worker dies (its leases expire and the deliveries are due again, with the same `webhook-id`).
It polls every `webhook_poll_seconds`, and is woken at once when this process's own job
finishes queued deliveries.

Each attempt resolves the endpoint's host again and refuses private addresses (unless allowed
by settings), then connects to the address it checked (no second lookup to rebind), never
follows a redirect, waits at most `webhook_timeout_seconds`, and keeps the status, the time and
the first 1 KB of the answer. 2xx: delivered. 410: the endpoint is disabled (`gone`). 429/503:
`Retry-After` sets the next attempt. Anything else: the retry schedule, then `failed`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx

from scripe_api.core import netguard
from scripe_api.core.release import release
from scripe_api.core.sealing import Unreadable
from scripe_api.db.pool import Record
from scripe_api.observability.metrics import WEBHOOK_DELIVERIES, WEBHOOK_RESPONSE_SECONDS
from scripe_api.resources import Resources
from scripe_api.webhooks import repository, secrets

logger = logging.getLogger(__name__)

RESPONSE_BODY_KEPT = 1024
_RETRY_AFTER_MAX_SECONDS = 86400.0
_JITTER = 0.1


def _user_agent() -> str:
    return f"scripe-webhooks/{release()}"


@dataclass(frozen=True)
class Attempt:
    """What one attempt found out."""

    status: int | None = None
    body: str | None = None
    error: str | None = None
    elapsed_ms: int | None = None
    retry_after: float | None = None
    # Disable the endpoint at once: `gone` (410) or `ssrf_blocked`.
    disable: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def retry_after_seconds(value: str | None) -> float | None:
    """`Retry-After` as seconds (delta-seconds or an HTTP date), bounded to a day."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), _RETRY_AFTER_MAX_SECONDS)


class Dispatcher:
    def __init__(self, resources: Resources) -> None:
        self._resources = resources
        self._settings = resources.settings
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._sealer = secrets.sealer(self._settings)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            # The environment's proxies would send requests past our address checks.
            trust_env=False,
            timeout=self._settings.webhook_timeout_seconds,
            headers={"user-agent": _user_agent()},
        )

    def wake(self) -> None:
        """Look for due deliveries now (deliveries were just committed)."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="webhook-dispatcher")

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Stop claiming; give attempts in flight `grace_seconds`, then cancel them (their
        deliveries are sent again once their leases expire)."""
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            await self._task
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=grace_seconds)
        for task in set(self._in_flight):
            task.cancel()
        if self._in_flight:
            await asyncio.wait(set(self._in_flight))
        await self._client.aclose()

    async def _run(self) -> None:
        settings = self._settings
        while not self._stopping.is_set():
            self._wake.clear()
            free = settings.webhook_concurrency - len(self._in_flight)
            if free > 0:
                try:
                    await self.dispatch_due(free)
                except Exception as error:
                    # The database is away: try again at the next poll.
                    logger.warning("webhook claim failed: %s", type(error).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), settings.webhook_poll_seconds)

    async def dispatch_due(self, limit: int) -> int:
        """Claim up to `limit` due deliveries and start sending them; how many."""
        settings = self._settings
        async with self._resources.database.connection() as connection:
            rows = await repository.claim(
                connection,
                limit,
                settings.webhook_endpoint_concurrency,
                settings.webhook_lease_seconds,
            )
        for row in rows:
            task = asyncio.create_task(self._deliver(row))
            self._in_flight.add(task)
            task.add_done_callback(self._done)
        return len(rows)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        # A slot is free: more may be due (a full claim left some behind).
        self._wake.set()

    async def _deliver(self, row: Record) -> None:
        try:
            attempt = await self._send(row)
        except Exception as error:  # never lose the outcome to a bug in one attempt
            logger.exception("webhook delivery %s: attempt failed unexpectedly", row["id"])
            attempt = Attempt(error=f"internal error ({type(error).__name__})")
        await self._record(row, attempt)

    def _secrets(self, row: Record) -> list[str]:
        sealed = [row["secret_ciphertext"], row["previous_secret_ciphertext"]]
        return [self._sealer.unseal(value).decode() for value in sealed if value is not None]

    async def _send(self, row: Record) -> Attempt:
        try:
            signing = self._secrets(row)
        except Unreadable as error:
            return Attempt(error=f"the signing secret cannot be read ({error})")
        try:
            target = await netguard.resolve(
                row["url"], allow_private=self._settings.webhook_private_urls_allowed
            )
        except netguard.Blocked as error:
            return Attempt(error=f"address refused: {error}", disable="ssrf_blocked")
        except (OSError, UnicodeError) as error:
            return Attempt(error=f"the host does not resolve ({error})")
        body = row["body"].encode()
        timestamp = int(time.time())
        is_https = urlsplit(target.url).scheme.lower() == "https"
        default_port = 443 if is_https else 80
        # An IPv6 literal host is bracketed in the Host header (RFC 9110).
        host = f"[{target.host}]" if ":" in target.host else target.host
        headers = {
            "webhook-id": row["event_id"],
            "webhook-timestamp": str(timestamp),
            "webhook-signature": secrets.sign(signing, row["event_id"], timestamp, body),
            "content-type": "application/json",
            "host": host if target.port == default_port else f"{host}:{target.port}",
        }
        extensions = {"sni_hostname": target.host} if is_https else {}
        started = time.perf_counter()
        try:
            # The timeout bounds the whole answer, not each read (a receiver trickling bytes).
            async with (
                asyncio.timeout(self._settings.webhook_timeout_seconds),
                self._client.stream(
                    "POST", target.pinned_url, content=body, headers=headers, extensions=extensions
                ) as response,
            ):
                kept = await _first_bytes(response, RESPONSE_BODY_KEPT)
        except (httpx.TimeoutException, TimeoutError):
            elapsed = _ms_since(started)
            self._observe(row, elapsed)
            return Attempt(
                error=f"timed out after {self._settings.webhook_timeout_seconds:g} s",
                elapsed_ms=elapsed,
            )
        except httpx.HTTPError as error:
            elapsed = _ms_since(started)
            self._observe(row, elapsed)
            return Attempt(error=f"{type(error).__name__}: {error}"[:500], elapsed_ms=elapsed)
        elapsed = _ms_since(started)
        self._observe(row, elapsed)
        status = response.status_code
        failure = None if 200 <= status < 300 else f"HTTP {status}"
        if 300 <= status < 400:
            failure = f"HTTP {status} (redirects are not followed)"
        return Attempt(
            status=status,
            body=kept.decode("utf-8", "replace"),
            error=failure,
            elapsed_ms=elapsed,
            retry_after=(
                retry_after_seconds(response.headers.get("retry-after"))
                if status in (429, 503)
                else None
            ),
            disable="gone" if status == 410 else None,
        )

    def _observe(self, row: Record, elapsed_ms: int) -> None:
        WEBHOOK_RESPONSE_SECONDS.labels(row["endpoint_id"]).observe(elapsed_ms / 1000)

    def _next(self, attempts: int, attempt: Attempt) -> tuple[str, float | None]:
        """The delivery's status after `attempts` attempts, and the delay before the next."""
        if attempt.succeeded:
            return "succeeded", None
        schedule = self._settings.webhook_retry_schedule_seconds
        if attempts > len(schedule):
            return "failed", None
        if attempt.retry_after is not None:
            return "pending", attempt.retry_after
        delay = schedule[attempts - 1]
        return "pending", delay * random.uniform(1 - _JITTER, 1 + _JITTER)  # noqa: S311

    async def _record(self, row: Record, attempt: Attempt) -> None:
        status, delay = self._next(row["attempts"], attempt)
        try:
            async with self._resources.database.connection() as connection:
                recorded = await repository.record_outcome(
                    connection,
                    row["id"],
                    row["attempts"],
                    status=status,
                    retry_in_seconds=delay,
                    response_status=attempt.status,
                    response_ms=attempt.elapsed_ms,
                    response_body=attempt.body,
                    error=attempt.error,
                    succeeded=attempt.succeeded,
                    disable=attempt.disable,
                    disable_after_seconds=self._settings.webhook_disable_after_seconds,
                )
        except Exception as error:
            # Not recorded: the lease expires and the event is delivered again (at least once).
            logger.warning(
                "webhook delivery %s: outcome not saved (%s)", row["id"], type(error).__name__
            )
            return
        if not recorded["recorded"]:
            return  # another attempt took it over (this one outlived its lease)
        WEBHOOK_DELIVERIES.labels("retrying" if status == "pending" else status).inc()
        disabled = recorded["disabled"]
        if disabled:
            WEBHOOK_DELIVERIES.labels(disabled).inc()
            logger.warning("webhook endpoint %s disabled: %s", row["endpoint_id"], disabled)
        logger.info(
            "webhook %s %s to %s: %s%s",
            row["event_id"],
            row["event_type"],
            row["endpoint_id"],
            status,
            f" ({attempt.error})" if attempt.error else "",
        )


async def _first_bytes(response: httpx.Response, limit: int) -> bytes:
    kept = b""
    async for chunk in response.aiter_bytes():
        kept += chunk[: limit - len(kept)]
        if len(kept) >= limit:
            break
    return kept


def _ms_since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)

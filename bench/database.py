"""The run's own Postgres database and Redis db: create, query, seed through the CLI, fill with
synthetic jobs, explain, drop and flush."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import redis
from sqlalchemy.engine import make_url

from bench.console import say
from bench.loads import generation_body
from bench.options import DATABASE, Options
from bench.processes import Services

_ULID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True)
class Tenant:
    """What the run creates through the CLI: an ENTERPRISE workspace, a project and a live key."""

    workspace_id: str
    project_id: str
    key: str


class Database:
    def __init__(self, options: Options) -> None:
        self.embedded = options.embedded
        self.admin_dsn = options.postgres_url
        self.redis_url = options.redis_url
        self.database_url = ""
        self.dsn = ""
        self.stack: Any = None

    def start_servers(self, workdir: Path) -> None:
        """Start the embedded stack when asked, and derive the URLs of the bench database."""
        if self.embedded:
            from scripe_api.embedded import EmbeddedStack

            self.stack = EmbeddedStack(workdir / "stack", durable=False)
            database_url, redis_url = self.stack.start()
            url = make_url(database_url)
            self.admin_dsn = url.set(drivername="postgresql", database="postgres").render_as_string(
                hide_password=False
            )
            self.redis_url = redis_url
        url = make_url(self.admin_dsn)
        self.database_url = url.set(
            drivername="postgresql+asyncpg", database=DATABASE
        ).render_as_string(hide_password=False)
        self.dsn = url.set(drivername="postgresql", database=DATABASE).render_as_string(
            hide_password=False
        )

    def create(self) -> str:
        """Drop and create the bench database; returns the server's version."""

        async def create() -> str:
            connection = await asyncpg.connect(self.admin_dsn)
            try:
                version: str = await connection.fetchval("SHOW server_version")
                await connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
                await connection.execute(f'CREATE DATABASE "{DATABASE}"')
            finally:
                await connection.close()
            return version

        return asyncio.run(create())

    def drop(self) -> None:
        async def drop() -> None:
            connection = await asyncpg.connect(self.admin_dsn)
            try:
                await connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
            finally:
                await connection.close()

        asyncio.run(drop())

    def flush_redis(self) -> str:
        """Empty the bench's Redis db; returns the server's version."""
        client = redis.Redis.from_url(self.redis_url)
        try:
            client.flushdb()
            info: dict[str, Any] = client.info("server")  # type: ignore[assignment]
            version = str(info.get("redis_version", "n/a"))
        finally:
            client.close()
        return version

    def stop_servers(self) -> None:
        if self.stack is not None:
            self.stack.stop()

    def sql(self, query: str, *args: Any) -> Any:
        async def run() -> Any:
            connection = await asyncpg.connect(self.dsn)
            try:
                return await connection.fetch(query, *args)
            finally:
                await connection.close()

        return asyncio.run(run())

    def sql_script(self, query: str) -> None:
        async def run() -> None:
            connection = await asyncpg.connect(self.dsn)
            try:
                await connection.execute(query)
            finally:
                await connection.close()

        asyncio.run(run())

    def job_count(self) -> int:
        return int(self.sql("SELECT count(*) AS n FROM jobs")[0]["n"])

    def add_rows(self, total: int, tenant: Tenant) -> int:
        """Add synthetic history older than every real job until `jobs` holds `total` rows:
        DONE live-key generations, each with the ledger rows a real one leaves (its reconciled
        reservation and its completed provider call), then VACUUM ANALYZE, as a production
        database has history and statistics (this machine's PostgreSQL runs with autovacuum
        off: without the analyze, statements planned on near-empty tables keep sequential
        scans as the tables grow)."""
        missing = total - self.job_count()
        if missing <= 0:
            return self.job_count()
        say(f"inserting {missing:,} job rows with their ledger rows")
        started = time.monotonic()
        self.sql(
            _insert_jobs_sql(missing),
            tenant.workspace_id,
            tenant.project_id,
            generation_body(tenant.project_id),
        )
        self.sql_script("VACUUM ANALYZE")
        # Write the bulk insert's dirty buffers now, not while the next case is measured.
        self.sql_script("CHECKPOINT")
        count = self.job_count()
        say(f"  {count:,} rows in {time.monotonic() - started:.1f} s")
        return count

    def explain(self, size: str, workspace_id: str, job_id: str) -> dict[str, str]:
        """EXPLAIN ANALYZE of what GET job and GET jobs?limit=50 run: plan and server time,
        free of HTTP and scheduling noise."""
        from scripe_api.jobs import repository

        # The statements the service prepares, with the parameters these requests bind.
        page = repository.list_statement(
            types=False, statuses=False, start=False, end=False, after=False
        )
        queries: dict[str, tuple[str, list[object]]] = {
            "get_job": (repository.READ_JOB, [job_id, workspace_id]),
            "list_jobs": (page, [workspace_id, 51, None, None, None, None, None, None]),
        }
        plans: dict[str, str] = {}
        for name, (query, arguments) in queries.items():
            rows = self.sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {query}", *arguments)
            plan = json.loads(rows[0][0])[0]
            node = plan["Plan"]
            while node.get("Node Type") == "Limit" and node.get("Plans"):
                node = node["Plans"][0]
            plans[f"{name}_{size}"] = (
                f"{node.get('Node Type')} on {node.get('Index Name', node.get('Relation Name'))}, "
                f"{plan['Execution Time']:.3f} ms"
            )
        return plans


def _ulid_part(expression: str) -> str:
    """SQL for the 10 Crockford base32 characters of the integer `expression`."""
    return " || ".join(
        f"substr('{_ULID_ALPHABET}', (({expression} >> {5 * (9 - i)}) & 31)::int + 1, 1)"
        for i in range(10)
    )


def _insert_jobs_sql(missing: int) -> str:
    # ULIDs whose time part is created_at: ids sort as created_at does (keyset order).
    time_part = _ulid_part("(extract(epoch FROM g.created_at) * 1000)::bigint")
    seq_part = _ulid_part("g.n")
    # Only constants and integers are formatted into the statement; ids are parameters.
    return f"""
            WITH added AS (
                INSERT INTO jobs (id, workspace_id, project_id, type, status, key_mode, input,
                                  result, attempt_count, estimated_completion_ms, started_at,
                                  completed_at, created_at, updated_at)
                SELECT 'job_' || {time_part} || 'BENCH0' || {seq_part},
                       $1, $2, 'POST_GENERATION', 'DONE', 'live',
                       $3::jsonb, jsonb_build_object('postId', 'post_BENCH' || g.n), 1, 25000,
                       g.created_at + interval '20 ms', g.created_at + interval '120 ms',
                       g.created_at, g.created_at + interval '120 ms'
                FROM (SELECT n, date_trunc('milliseconds',
                                (SELECT coalesce(min(created_at), now()) FROM jobs)
                                - n * interval '1 second') AS created_at
                      FROM generate_series(1, {missing}) AS n) AS g
                RETURNING id, workspace_id, created_at, completed_at
            ), reserved AS (
                INSERT INTO spend_reservations (job_id, workspace_id, bucket_date,
                                                estimate_cents, actual_cents, reconciled_at,
                                                created_at)
                SELECT id, workspace_id, created_at::date, 5, 0, completed_at, created_at
                  FROM added
            )
            INSERT INTO provider_calls (job_id, attempt, provider, model, state, cost_cents,
                                        started_at, completed_at)
            SELECT id, 1, 'offline', NULL, 'completed', 0, created_at,
                   completed_at
              FROM added
            """  # noqa: S608


def seed(services: Services) -> Tenant:
    """Migrate, then create the workspace, project and key the loads use, through the CLI."""
    say(services.cli("migrate").strip())
    out = services.cli("workspaces", "create", "--name", "Bench", "--plan", "enterprise")
    workspace_id = _token(out, "org_")
    out = services.cli(
        "projects",
        "create",
        "--workspace",
        workspace_id,
        "--name",
        "Bench project",
        "--description",
        "Direct, practical, engineering-minded.",
        "--sample",
        "We shipped the new pipeline last week. Deploys went from 40 minutes to 4.",
        "--pillar",
        "Engineering: how we build and ship",
    )
    project_id = _token(out, "proj_")
    out = services.cli("keys", "create", "--workspace", workspace_id, "--name", "bench")
    return Tenant(workspace_id, project_id, _token(out, "scripe_sk_live_"))


def _token(text: str, prefix: str) -> str:
    for word in text.replace("(", " ").replace(")", " ").replace(",", " ").split():
        if word.startswith(prefix):
            return word.rstrip(".")
    raise RuntimeError(f"no {prefix}… in: {text}")

"""§2: API keys are shown once and kept only as digests. A real `scripe-api serve` in production
mode (JSON logs) never writes a key to its output or echoes one in an error body, whether the key
is valid, wrong or revoked, sent in the Authorization header or pasted into a body or a query;
and no text column of any table holds a key in plain text."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.auth import management
from scripe_api.settings import Settings
from tests.assertions import assert_error, eventually
from tests.factories import Factory
from tests.faults.processes import api_process, client_of

TEXT_TYPES = ("text", "character varying", "character", "json", "jsonb", "bytea")


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _columns_holding(
    sessionmaker: async_sessionmaker[AsyncSession], needles: list[str]
) -> list[str]:
    """`table.column` of every text-like column in which some needle appears."""
    found = []
    async with sessionmaker() as session:
        columns = (
            await session.execute(
                text(
                    "SELECT table_name, column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = 'public' AND data_type = ANY(:types)"
                ),
                {"types": list(TEXT_TYPES)},
            )
        ).all()
        for table, column, data_type in columns:
            # Binary columns (the digests) are searched for the key's bytes.
            match = (
                f"position(convert_to(:needle, 'UTF8') in \"{column}\") > 0"
                if data_type == "bytea"
                else f'strpos("{column}"::text, :needle) > 0'
            )
            for needle in needles:
                hits = await session.scalar(
                    text(f'SELECT count(*) FROM "{table}" WHERE {match}'),  # noqa: S608
                    {"needle": needle},
                )
                if hits:
                    found.append(f"{table}.{column}")
    return found


async def test_keys_never_reach_logs_error_bodies_or_the_database(
    fault_settings: Settings,
    fault_factory: Factory,
    fault_sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    settings = fault_settings.model_copy(update={"env": "production", "log_level": "DEBUG"})
    tenant = await fault_factory.tenant()
    project = await fault_factory.project(tenant.workspace.id)
    revoked = await fault_factory.key(tenant.workspace.id)
    async with fault_sessionmaker() as session, session.begin():
        await management.revoke_key(session, revoked.key.id)
    wrong = "scripe_sk_live_" + secrets.token_hex(20)
    # In capitals too: one pattern redacts logs and bodies alike, whatever the case.
    keys = [tenant.key, revoked.secret, wrong, wrong.upper()]
    bodies: list[str] = []
    log = tmp_path / "api.log"
    async with api_process(settings, log) as api, client_of(api) as client:

        async def revoked_answer() -> httpx.Response:
            return await client.get("/v1/workspaces/me", headers=_bearer(revoked.secret))

        refused = await eventually(revoked_answer, lambda r: r.status_code == 401)
        assert_error(refused, 401, "key_revoked")
        bodies.append(refused.text)
        answer = await client.get("/v1/workspaces/me", headers=_bearer(wrong))
        assert_error(answer, 401, "invalid_token")
        bodies.append(answer.text)
        for malformed in (f"Bearer  {tenant.key}x", f"Token {tenant.key}", tenant.key):
            answer = await client.get("/v1/jobs", headers={"Authorization": malformed})
            assert answer.status_code == 401
            bodies.append(answer.text)
        valid = _bearer(tenant.key)
        for key in keys:
            # Pasted where a client might paste it by mistake: body fields and filters.
            for path, body in (
                ("/v1/posts/generations", {"projectId": key, "source": {"text": "x"}}),
                ("/v1/posts/generations", {"projectId": project.id, "source": {"noteId": key}}),
                ("/v1/posts/generations", {"projectId": project.id, key: "x"}),
                ("/v1/notes", {"projectId": key, "content": "x"}),
                ("/v1/posts", {"projectId": project.id, "contentType": key}),
                ("/v1/knowledge", {"type": key, "name": "n", "text": "t"}),
            ):
                answer = await client.post(path, json=body, headers=valid)
                assert 400 <= answer.status_code < 500, answer.text
                bodies.append(answer.text)
            for path, params in (
                ("/v1/jobs", {"status": key}),
                ("/v1/jobs", {"cursor": key}),
                ("/v1/jobs", {"dateFrom": key}),
                ("/v1/posts", {"projectId": key}),
                ("/v1/notes", {"projectId": key}),
                (f"/v1/jobs/{key}", {}),
                (f"/v1/posts/{key}", {}),
            ):
                answer = await client.get(path, params=params, headers=valid)
                assert 400 <= answer.status_code < 500, answer.text
                bodies.append(answer.text)
        # The key works, and its use is logged (with the request id), not the key itself.
        me = await client.get("/v1/workspaces/me", headers=valid)
        assert me.status_code == 200
        assert tenant.key not in me.text
    output = log.read_text(errors="replace")
    assert '"level":' in output  # JSON lines: production logging really ran
    assert me.headers["x-request-id"] in output
    for key in keys:
        assert key not in output, "an API key reached the server's output"
        # Not even its secret part (a log could cut the prefix).
        assert key.rsplit("_", 1)[1] not in output
        for answered in bodies:
            assert key not in answered, answered
    assert await _columns_holding(fault_sessionmaker, keys) == []
    assert await _columns_holding(fault_sessionmaker, [key.rsplit("_", 1)[1] for key in keys]) == []

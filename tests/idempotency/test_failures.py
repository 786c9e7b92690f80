"""What is not recorded (§3): a 402 or a crash releases the claim, so a retry runs again; and
what fails after the commit still answers the committed response."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import APIRouter, Depends
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripe_api.api.access import Access
from scripe_api.api.dependencies import UnitOfWorkDep
from scripe_api.api.pipeline import GuardedRoute
from scripe_api.api.schemas import ApiModel, Envelope
from scripe_api.auth.principal import Principal
from scripe_api.core.errors import AppError
from scripe_api.main import ScripeApp, create_app
from scripe_api.settings import Settings
from tests.apps import serve
from tests.assertions import assert_error
from tests.factories import Factory
from tests.idempotency.records import keyed, records

Writer = Annotated[Principal, Depends(Access(("posts:write",), "write"))]


class SpendCapExceeded(AppError):
    code = "spend_cap_exceeded"
    status_code = 402


class Attempt(ApiModel):
    number: int


class FlakyOperation:
    """A test-only `POST /v1/flaky` whose first run fails with `failure`."""

    def __init__(self, failure: Exception, *, after_commit: bool = False) -> None:
        self.failure = failure
        self.after_commit = after_commit
        self.runs = 0

    def mount(self, app: ScripeApp) -> None:
        router = APIRouter(route_class=GuardedRoute)

        @router.post("/flaky", response_model=Envelope[Attempt])
        async def run_flaky(
            body: Attempt, principal: Writer, uow: UnitOfWorkDep
        ) -> Envelope[Attempt]:
            self.runs += 1
            result = Envelope[Attempt](data=Attempt(number=self.runs))
            if self.runs == 1:
                if self.after_commit:
                    await uow.commit(result)
                raise self.failure
            return result

        app.include_router(router, prefix="/v1")


@pytest.mark.parametrize(
    ("failure", "status", "code"),
    [
        (RuntimeError("boom"), 500, "internal_error"),
        (SpendCapExceeded("Over today's cap."), 402, "spend_cap_exceeded"),
    ],
    ids=["crash", "spend cap"],
)
async def test_unrecorded_failure_releases_the_key(
    factory: Factory,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    failure: Exception,
    status: int,
    code: str,
) -> None:
    tenant = await factory.tenant()
    operation = FlakyOperation(failure)
    app = create_app(settings)
    operation.mount(app)
    async with serve(app) as client:
        failed = await client.post("/v1/flaky", headers=keyed(tenant, "f"), json={"number": 0})
        assert_error(failed, status, code)
        assert await records(sessionmaker, tenant.workspace.id) == []
        retried = await client.post("/v1/flaky", headers=keyed(tenant, "f"), json={"number": 0})
    assert retried.status_code == 200, retried.text
    assert retried.headers["idempotent-replayed"] == "false"
    assert retried.json() == {"data": {"number": 2}}
    [record] = await records(sessionmaker, tenant.workspace.id)
    assert record.scope == "POST /v1/flaky"
    assert record.state == "completed"


async def test_failure_after_commit_answers_the_committed_response(
    factory: Factory, settings: Settings
) -> None:
    tenant = await factory.tenant()
    operation = FlakyOperation(RuntimeError("Redis went away"), after_commit=True)
    app = create_app(settings)
    operation.mount(app)
    async with serve(app) as client:
        answers = [
            await client.post("/v1/flaky", headers=keyed(tenant, "c"), json={"number": 0})
            for _ in range(2)
        ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"data": {"number": 1}}
    assert [a.headers["idempotent-replayed"] for a in answers] == ["false", "true"]
    assert operation.runs == 1

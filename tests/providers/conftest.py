from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.providers.fake_api import FakeApi, fake_api


@pytest.fixture
async def fake() -> AsyncIterator[FakeApi]:
    async with fake_api() as api:
        yield api

"""Entry point of a real worker process for crash tests: `python -m tests.worker_process`.

Settings come from SCRIPE_* variables; live-key jobs run on the scripted provider.
"""

from __future__ import annotations

import asyncio

from scripe_api.providers.registry import ProviderRegistry
from scripe_api.settings import Settings
from tests.scripted_provider import ScriptedProvider
from workers.main import run_worker


def main() -> None:
    settings = Settings()
    providers = ProviderRegistry(settings, live=ScriptedProvider(settings.redis_url))
    asyncio.run(run_worker(settings, providers=providers))


if __name__ == "__main__":
    main()

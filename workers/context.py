"""The worker's long-lived dependencies, built by the same Resources builder as the API's."""

from __future__ import annotations

import asyncio

from scripe_api.generations.runner import run_generation
from scripe_api.jobs.execution import WorkerDeps
from scripe_api.knowledge.runner import run_text_ingest
from scripe_api.providers.registry import ProviderRegistry
from scripe_api.resources import Resources
from scripe_api.settings import Settings


def build_deps(settings: Settings, providers: ProviderRegistry | None = None) -> WorkerDeps:
    return WorkerDeps(
        resources=Resources.open(settings, application_name="scripe-worker"),
        providers=providers or ProviderRegistry(settings),
        handlers={"POST_GENERATION": run_generation, "KB_INGEST_TEXT": run_text_ingest},
        provider_slots=asyncio.Semaphore(settings.provider_concurrency),
    )

"""The worker's long-lived dependencies, built by the same Resources builder as the API's."""

from __future__ import annotations

import asyncio

from scripe_api.generations.runner import run_generation
from scripe_api.ingest.runners import (
    run_file_ingest,
    run_source_ingest,
    run_url_ingest,
    run_youtube_ingest,
)
from scripe_api.jobs.execution import WorkerDeps
from scripe_api.knowledge.runner import run_text_ingest
from scripe_api.providers.registry import ProviderRegistry
from scripe_api.resources import Resources
from scripe_api.settings import Settings
from scripe_api.uploads.storage import open_storage


def build_deps(settings: Settings, providers: ProviderRegistry | None = None) -> WorkerDeps:
    return WorkerDeps(
        resources=Resources.open(settings, application_name="scripe-worker"),
        providers=providers or ProviderRegistry(settings),
        handlers={
            "POST_GENERATION": run_generation,
            "KB_INGEST_TEXT": run_text_ingest,
            "KB_INGEST_FILE": run_file_ingest,
            "KB_INGEST_URL": run_url_ingest,
            "KB_INGEST_YOUTUBE": run_youtube_ingest,
            "SOURCE_INGEST_FILE": run_source_ingest,
        },
        provider_slots=asyncio.Semaphore(settings.provider_concurrency),
        storage=open_storage(settings),
    )

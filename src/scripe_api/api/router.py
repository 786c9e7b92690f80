"""All routers, mounted under /v1 (and the orchestrator probes outside it)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from scripe_api.generations.routes import router as generations_router
from scripe_api.health.routes import probes
from scripe_api.health.routes import router as health_router
from scripe_api.jobs.routes import router as jobs_router
from scripe_api.knowledge.routes import router as knowledge_router
from scripe_api.notes.routes import router as notes_router
from scripe_api.posts.routes import router as posts_router
from scripe_api.projects.routes import router as projects_router
from scripe_api.sources.routes import router as sources_router
from scripe_api.uploads.routes import router as uploads_router
from scripe_api.webhooks.routes import router as webhooks_router
from scripe_api.workspaces.routes import router as workspaces_router


def include_routers(app: FastAPI) -> None:
    v1 = APIRouter(prefix="/v1")
    routers = (
        health_router,
        workspaces_router,
        projects_router,
        # Before posts: /posts/generations must not be taken for /posts/{postId}.
        generations_router,
        posts_router,
        notes_router,
        knowledge_router,
        uploads_router,
        sources_router,
        jobs_router,
        webhooks_router,
    )
    for router in routers:
        v1.include_router(router)
    app.include_router(v1)
    app.include_router(probes)

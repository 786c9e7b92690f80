"""All tables, imported here so `Base.metadata` is complete for Alembic and the drift test."""

from scripe_api.db.models.api_key import ApiKey
from scripe_api.db.models.idempotency_record import IdempotencyRecord
from scripe_api.db.models.job import Job
from scripe_api.db.models.knowledge import KnowledgeChunk, KnowledgeDocument
from scripe_api.db.models.note import Note
from scripe_api.db.models.post import Post
from scripe_api.db.models.project import Project
from scripe_api.db.models.source import Source
from scripe_api.db.models.spend import ProviderCall, SpendBucket, SpendReservation, SpendSettlement
from scripe_api.db.models.upload import Upload
from scripe_api.db.models.webhook import WebhookDelivery, WebhookEndpoint, WebhookEvent
from scripe_api.db.models.workspace import Workspace

__all__ = [
    "ApiKey",
    "IdempotencyRecord",
    "Job",
    "KnowledgeChunk",
    "KnowledgeDocument",
    "Note",
    "Post",
    "Project",
    "ProviderCall",
    "Source",
    "SpendBucket",
    "SpendReservation",
    "SpendSettlement",
    "Upload",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "Workspace",
]

"""The one Settings object: every knob of the service, read from `SCRIPE_*` environment variables.

Settings are built once at the edge (CLI, tests) and passed explicitly; nothing reads the
environment at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Plan = Literal["FREE", "SOLO", "ADVANCED", "BUSINESS", "ENTERPRISE", "TRIAL"]
API_PLANS: tuple[Plan, ...] = ("ADVANCED", "BUSINESS", "ENTERPRISE", "TRIAL")
CURRENT_API_VERSION = "2026-08-01"
RateBucketName = Literal["read", "write", "ai"]
DEFAULT_SPEND_CAPS: dict[str, int | None] = {
    "FREE": 0,
    "SOLO": 500,
    "TRIAL": 500,
    "ADVANCED": 2000,
    "BUSINESS": 5000,
    "ENTERPRISE": None,
}
DEFAULT_RATE_LIMITS: dict[RateBucketName, int] = {"read": 600, "write": 120, "ai": 60}
DEFAULT_PLAN_MULTIPLIERS: dict[str, float] = {
    "ADVANCED": 1.0,
    "BUSINESS": 2.0,
    "ENTERPRISE": 5.0,
    "TRIAL": 1.0,
}
# Secrets that must never reach production: the documented examples and obvious fillers.
PLACEHOLDER_SECRETS = frozenset(
    {"", "change-me", "changeme", "secret", "dev", "placeholder", "please-change-me"}
)
MIN_SECRET_LENGTH = 32
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class ModelPrice(BaseModel):
    """What a model costs, in cents per million tokens (list prices; override per deployment)."""

    model_config = {"frozen": True}

    input_cents_per_mtok: float = Field(ge=0, description="Cents per million input tokens.")
    output_cents_per_mtok: float = Field(ge=0, description="Cents per million output tokens.")


# List prices at the time of writing; deployments override SCRIPE_PROVIDER_PRICES.
DEFAULT_PROVIDER_PRICES: dict[str, ModelPrice] = {
    name: ModelPrice(input_cents_per_mtok=inp, output_cents_per_mtok=out)
    for name, (inp, out) in {
        "gpt-4o": (250, 1000),
        "gpt-4o-mini": (15, 60),
        "gpt-4.1": (200, 800),
        "gpt-4.1-mini": (40, 160),
        "gpt-4.1-nano": (10, 40),
        "claude-opus-4-1": (1500, 7500),
        "claude-sonnet-4-5": (300, 1500),
        "claude-haiku-4-5": (100, 500),
        "claude-3-5-haiku-latest": (80, 400),
    }.items()
}
# Unknown models are billed like a mid-range hosted model rather than for free.
DEFAULT_UNKNOWN_MODEL_PRICE = ModelPrice(input_cents_per_mtok=300, output_cents_per_mtok=1500)


def is_loopback_url(url: str) -> bool:
    """True when `url` points at this machine (a local Ollama or vLLM needs no API key)."""
    return (urlsplit(url).hostname or "").lower() in LOOPBACK_HOSTS


class Settings(BaseSettings):
    """Configuration of the API, the worker and the CLI."""

    # Inputs stay out of validation errors: they may carry API keys and server secrets.
    model_config = SettingsConfigDict(
        env_prefix="SCRIPE_", extra="ignore", frozen=True, hide_input_in_errors=True
    )

    env: Literal["dev", "production", "test"] = Field(
        "production",
        description="`dev` relaxes the secret check and uses readable logs; `scripe-api dev` "
        "sets it. Tests use `test`.",
    )
    database_url: str = Field(
        "postgresql+asyncpg://postgres@127.0.0.1:5432/scripe",
        description="SQLAlchemy URL of the Postgres database (asyncpg driver).",
    )
    redis_url: str = Field("redis://127.0.0.1:6379/0", description="URL of the Redis server.")
    data_dir: Path = Field(
        Path(".scripe"),
        description="Folder of the embedded Postgres and Redis used by `scripe-api dev`.",
    )
    host: str = Field("127.0.0.1", description="Interface the API listens on.")
    port: int = Field(8000, description="Port the API listens on.")

    secret_keys: dict[int, SecretStr] = Field(
        default_factory=dict,
        description='Versioned server secrets as JSON, e.g. {"2": "new…", "1": "old…"}. The '
        "highest version signs and digests; older versions still verify (rotation "
        "invalidates nothing). At least 32 characters each.",
    )

    accepted_versions: list[str] = Field(
        default_factory=lambda: [CURRENT_API_VERSION],
        description="API versions accepted in `Scripe-Api-Version`; the first is the default.",
    )
    deprecated_versions: dict[str, str] = Field(
        default_factory=dict,
        description='Deprecated versions and their sunset dates, e.g. {"2026-08-01": '
        '"2027-06-30"}; their responses carry `Scripe-Deprecation`.',
    )

    max_body_bytes: int = Field(256 * 1024, description="Whole-body cap for requests (413).")
    max_url_bytes: int = Field(
        8192, ge=256, description="Longest request URL (path and query) accepted (414)."
    )
    max_header_bytes: int = Field(
        32768, ge=1024, description="Most header bytes one request may send, in all (431)."
    )
    large_body_paths: dict[str, int] = Field(
        default_factory=lambda: {"/v1/knowledge": 1_153_434, "/v1/sources": 1_153_434},
        description="Paths with a larger body cap (bytes); knowledge and source text take 1.1 MB.",
    )

    db_pool_size: int = Field(
        10, ge=1, description="Connections of each process's pool for requests and job attempts."
    )
    db_max_overflow: int = Field(
        5,
        ge=0,
        description="Extra connections that pool may open at peak (closed once idle for "
        "db_pool_idle_seconds).",
    )
    db_pool_idle_seconds: float = Field(
        60.0,
        ge=0,
        description="A connection past db_pool_size that has been idle this long is closed.",
    )
    db_tenant_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description="The part of a process's pool one workspace may hold at once; its requests "
        "beyond that wait for its own connections, never another workspace's.",
    )
    db_orm_pool_size: int = Field(
        2,
        ge=1,
        description="Connections of the second, small pool the rare paths use (the CLI, "
        "housekeeping); its overflow is the same size again.",
    )
    db_pool_timeout_seconds: float = Field(
        5.0, description="How long a request waits for a pooled connection before 503."
    )
    db_statement_timeout_ms: int = Field(15_000, description="Postgres statement_timeout.")
    db_lock_timeout_ms: int = Field(5_000, description="Postgres lock_timeout.")
    db_idle_in_transaction_timeout_ms: int = Field(
        30_000, description="Postgres idle_in_transaction_session_timeout."
    )
    db_connect_timeout_seconds: float = Field(5.0, description="Timeout to open a connection.")
    db_ping_idle_seconds: float = Field(
        2.0,
        ge=0,
        description="A pooled connection idle longer than this is pinged before use, so one "
        "broken by a Postgres restart is replaced unseen; busier connections skip the round "
        "trip (a broken one then answers 503 once while the pool replaces it). 0 pings always.",
    )
    redis_socket_timeout_seconds: float = Field(
        0.5, description="Socket and connect timeout of Redis calls (a hung Redis must not hang)."
    )
    unavailable_retry_after_seconds: int = Field(
        5, description="`Retry-After` sent with 503 service_unavailable."
    )

    auth_cache_ttl_seconds: float = Field(
        5.0, le=5.0, ge=0.0, description="How long a process may cache a key lookup (≤ 5 s)."
    )
    last_used_interval_seconds: int = Field(
        60, description="`lastUsedAt` is written at most this often per key."
    )
    api_plans: list[Plan] = Field(
        default_factory=lambda: list(API_PLANS),
        description="Plans with API access; others get 403 plan_not_eligible.",
    )

    rate_limits: dict[RateBucketName, int] = Field(
        default_factory=lambda: dict(DEFAULT_RATE_LIMITS),
        description="Requests per sliding minute per workspace and bucket (before the plan "
        "multiplier): read (GET), write (non-AI writes), ai (generations, knowledge ingest).",
    )
    rate_limit_plan_multipliers: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_PLAN_MULTIPLIERS),
        description="Plan multipliers of the rate limits.",
    )

    idempotency_lock_seconds: float = Field(
        30.0, gt=0, description="How long an in-flight Idempotency-Key claim is locked."
    )
    idempotency_window_hours: float = Field(
        24.0, gt=0, description="How long a completed Idempotency-Key is replayed."
    )
    idempotency_wait_seconds: float = Field(
        10.0, ge=0, description="How long a duplicate waits for the original before 409 in use."
    )
    idempotency_poll_seconds: float = Field(
        0.1, gt=0, description="Polling interval of a waiting duplicate (no connection held)."
    )

    plan_spend_caps_cents: dict[str, int | None] = Field(
        default_factory=lambda: dict(DEFAULT_SPEND_CAPS),
        description="Daily AI spend cap per plan in cents (UTC day); null is unlimited "
        "(still recorded).",
    )
    generation_estimate_cents: int = Field(
        5, ge=0, description="Spend reserved per POST_GENERATION at submit."
    )

    metrics_path: str | None = Field(
        "/metrics",
        description="Where the API serves Prometheus metrics (outside /v1); null turns it off. "
        "Keep it off the public port (route it only to your scraper).",
    )
    worker_metrics_port: int | None = Field(
        None, description="Port a worker serves its Prometheus metrics on; null turns it off."
    )

    cors_origins: list[str] = Field(
        default_factory=list, description="Allowed CORS origins; empty turns CORS off."
    )
    log_format: Literal["json", "console"] | None = Field(
        None, description="Log format; default console in dev, json otherwise."
    )
    log_level: str = Field("INFO", description="Root log level.")

    generator_provider: Literal["offline", "openai", "anthropic"] = Field(
        "offline", description="Which post generator runs live-key jobs."
    )
    generator_model: str | None = Field(None, description="Model name of the AI provider.")
    offline_pace_seconds: float = Field(
        0.0,
        ge=0,
        le=120,
        description="How long the offline generator takes per post, reporting progress on the "
        "way like a real provider (`scripe-api dev`: 4 s; 0: as fast as it can).",
    )
    openai_base_url: str = Field(
        "https://api.openai.com/v1",
        description="Base URL of the OpenAI-compatible Chat Completions API (OpenAI, Azure "
        "OpenAI, vLLM, Ollama `http://127.0.0.1:11434/v1`, llama.cpp, OpenRouter).",
    )
    openai_api_key: SecretStr | None = Field(
        None, description="Bearer key of the OpenAI-compatible API (optional on a loopback URL)."
    )
    transcription_model: str = Field(
        "whisper-1",
        description="Speech-to-text model of the OpenAI-compatible `/audio/transcriptions` "
        "endpoint that transcribes audio and video sources (it must answer `verbose_json`).",
    )
    transcription_cents_per_minute: float = Field(
        0.6,
        ge=0,
        description="Price of transcription in cents per minute of audio (whisper-1 lists 0.6¢); "
        "cost = the duration the provider reports × this, rounded up to cents (one minute when "
        "it reports none).",
    )
    transcription_base_url: str | None = Field(
        None,
        description="Base URL of an OpenAI-compatible transcription API (e.g. "
        "`https://api.openai.com/v1`, a local whisper server), used with "
        "SCRIPE_TRANSCRIPTION_API_KEY whatever the AI generator. Unset: the `openai` generator's "
        "own URL and key; the `anthropic` generator then has no transcription.",
    )
    transcription_api_key: SecretStr | None = Field(
        None,
        description="Bearer key of SCRIPE_TRANSCRIPTION_BASE_URL (optional on a loopback URL; "
        "never the OpenAI key, which stays with its own host).",
    )
    transcription_timeout_seconds: float = Field(
        600.0, gt=0, description="A transcription call may take this long."
    )
    transcription_estimate_cents: int = Field(
        10,
        ge=0,
        description="Reserved against the daily spend cap when an audio or video file is "
        "submitted (reconciled with the provider's reported cost when the job ends).",
    )
    anthropic_base_url: str = Field(
        "https://api.anthropic.com", description="Base URL of the Anthropic Messages API."
    )
    anthropic_api_key: SecretStr | None = Field(None, description="Anthropic API key.")
    provider_timeout_seconds: float = Field(
        30.0, gt=0, description="Timeout of one AI provider call (a timeout is retried)."
    )
    provider_max_output_tokens: int = Field(
        1200, ge=1, description="Output token ceiling of one AI provider call."
    )
    provider_temperature: float = Field(
        0.7, ge=0, le=2, description="Sampling temperature sent to the AI provider."
    )
    provider_prices: dict[str, ModelPrice] = Field(
        default_factory=lambda: dict(DEFAULT_PROVIDER_PRICES),
        description='Price per model as JSON, e.g. {"gpt-4o-mini": {"input_cents_per_mtok": '
        '15, "output_cents_per_mtok": 60}}; actual cost = tokens × price, rounded up to cents.',
    )
    provider_default_price: ModelPrice = Field(
        default_factory=lambda: DEFAULT_UNKNOWN_MODEL_PRICE,
        description="Price of a model missing from SCRIPE_PROVIDER_PRICES (logged once).",
    )

    # Jobs: leases, retries, the sweep. With the defaults a crashed worker's job runs again
    # within lease + sweep interval + poll delay ≈ 20 s (the README promises 30 s).
    job_lease_seconds: float = Field(
        15.0, gt=0, description="Lease of a running attempt; renewed by heartbeat."
    )
    job_heartbeat_seconds: float = Field(
        4.0, gt=0, description="Heartbeat interval; the lease must be ≥ 3× this."
    )
    job_max_attempts: int = Field(3, ge=1, description="Attempts before a job fails for good.")
    job_retry_backoff_seconds: float = Field(
        2.0, ge=0, description="Backoff before attempt n+1 is base × 2^(n-1)."
    )
    job_retry_backoff_max_seconds: float = Field(30.0, ge=0, description="Backoff ceiling.")
    job_completion_retry_seconds: float = Field(
        60.0,
        ge=0,
        description="How long an attempt keeps retrying the transaction that saves its outcome "
        "when it fails transiently (lock or statement timeout, outage), with backoff; after "
        "that the lease hands the job on and the next attempt reuses the paid output.",
    )
    sweep_interval_seconds: int = Field(
        5, ge=1, le=59, description="How often the sweep repairs lost enqueues and dead leases."
    )
    sweep_queued_grace_seconds: float = Field(
        5.0, ge=0, description="A QUEUED job older than this is re-enqueued by the sweep."
    )
    sweep_batch_size: int = Field(500, ge=1, description="Jobs the sweep handles per run.")
    worker_max_jobs: int = Field(32, ge=1, description="Jobs one worker process runs at once.")
    worker_poll_delay_seconds: float = Field(
        0.05, gt=0, description="Queue poll interval (arq's 0.5 s default caps throughput)."
    )
    worker_shutdown_grace_seconds: float = Field(
        10.0, ge=0, description="On SIGTERM, how long running attempts may finish."
    )
    worker_job_timeout_seconds: int = Field(
        600, ge=1, description="Hard ceiling of one attempt (arq's job timeout)."
    )
    progress_ttl_seconds: int = Field(3600, description="TTL of a job's progress snapshot.")
    estimate_refresh_seconds: float = Field(
        60.0, ge=0, description="How often the estimatedCompletionMs medians are recomputed."
    )
    wait_max_ms: int = Field(25_000, description="Clamp of wait_for_completion_ms.")
    events_streams_per_workspace: int = Field(
        100, ge=1, description="Event streams (GET /v1/jobs/{jobId}/events) open at once."
    )
    events_keepalive_seconds: float = Field(
        15.0, gt=0, description="A comment on an idle event stream this often."
    )
    events_stream_max_seconds: float = Field(
        600.0,
        gt=0,
        description="An event stream ends after this long (a last `status` first); the client "
        "reconnects with Last-Event-ID and misses nothing. Bounds a connection's life.",
    )
    events_token_ttl_seconds: int = Field(
        3600,
        ge=1,
        le=86_400,
        description="How long a token from POST /v1/jobs/{jobId}/events/token opens that job's "
        "event stream (`?token=`, for a browser's EventSource, which cannot send a key).",
    )
    storage_backend: Literal["disk", "s3"] = Field(
        "disk",
        description="Where uploaded bytes go: `disk` (under `data_dir`/uploads, the API takes "
        "the PUT itself) or `s3` (any S3-compatible store; clients PUT to its presigned URL).",
    )
    s3_endpoint_url: str | None = Field(
        None, description="S3-compatible endpoint (MinIO, R2…); unset: AWS S3."
    )
    s3_public_endpoint_url: str | None = Field(
        None,
        description="The endpoint clients reach the store at, for the presigned upload URLs "
        "(when it differs from `s3_endpoint_url`, e.g. inside docker compose).",
    )
    s3_bucket: str = Field("scripe-uploads", description="Bucket of uploaded files.")
    s3_region: str = Field("us-east-1", description="Region of the bucket.")
    s3_access_key_id: SecretStr | None = Field(None, description="S3 access key id.")
    s3_secret_access_key: SecretStr | None = Field(None, description="S3 secret access key.")
    public_url: str | None = Field(
        None,
        description="The API's public base URL (https://api.example.com), for upload URLs the "
        "disk backend mints; unset: the URL the request came to.",
    )
    upload_url_ttl_seconds: float = Field(
        900.0, gt=0, description="An upload URL works this long after it is minted."
    )
    upload_retention_hours: float = Field(
        24.0, gt=0, description="Uploaded bytes never referenced are deleted after this long."
    )
    upload_max_document_bytes: int = Field(
        100 * 1024 * 1024, ge=1, description="Cap (and default) for PDF and DOCX uploads."
    )
    upload_max_text_bytes: int = Field(
        25 * 1024 * 1024, ge=1, description="Cap (and default) for text, Markdown, HTML uploads."
    )
    upload_max_media_bytes: int = Field(
        500 * 1024 * 1024, ge=1, description="Cap (and default) for audio and video uploads."
    )
    fetch_allow_private_urls: bool | None = Field(
        None,
        description="Let knowledge URLs reach private (loopback, RFC 1918…) addresses. Unset: "
        "allowed in dev and test only.",
    )
    extract_timeout_seconds: float = Field(
        120.0, gt=0, description="Extracting one file's text may take this long."
    )
    extract_memory_bytes: int = Field(
        1024 * 1024 * 1024,
        ge=64 * 1024 * 1024,
        description="Address space of the process that extracts one file's text.",
    )
    ingest_max_chars: int = Field(
        1_000_000, ge=1, description="At most this much text is kept of one file, page or video."
    )
    webhook_retry_schedule_seconds: list[float] = Field(
        [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400],
        min_length=1,
        description="Delays before each retry of a failed webhook delivery (±10 % jitter); "
        "after the last, the delivery is `failed`.",
    )
    webhook_timeout_seconds: float = Field(
        15.0, gt=0, description="A webhook receiver's time to answer a delivery."
    )
    webhook_disable_after_seconds: float = Field(
        5 * 86400.0,
        gt=0,
        description="An endpoint whose every delivery has failed this long is disabled "
        "(`disabledReason: failing`).",
    )
    webhook_secret_overlap_seconds: float = Field(
        86400.0,
        ge=0,
        description="After a secret rotation, deliveries are signed with the old secret too "
        "for this long.",
    )
    webhook_allow_private_urls: bool | None = Field(
        None,
        description="Allow `http` and private (loopback, RFC 1918…) receiver addresses. "
        "Unset: allowed in dev and test only.",
    )
    webhook_poll_seconds: float = Field(
        1.0, gt=0, description="The webhook dispatcher looks for due deliveries this often."
    )
    webhook_concurrency: int = Field(
        64, ge=1, description="Deliveries one worker process sends at once."
    )
    webhook_endpoint_concurrency: int = Field(
        4, ge=1, description="Deliveries in flight to one endpoint at once."
    )
    webhook_lease_seconds: float = Field(
        60.0,
        gt=0,
        description="A delivery's sender holds it this long (more than the timeout); one that "
        "dies is sent again after it.",
    )
    webhook_retention_days: int = Field(
        30, ge=1, description="Webhook events and their deliveries are kept this long."
    )
    provider_concurrency: int = Field(
        8, ge=1, description="Provider calls one worker process makes at once."
    )

    @model_validator(mode="after")
    def _lease_outlives_heartbeats(self) -> Settings:
        if self.job_lease_seconds < 3 * self.job_heartbeat_seconds:
            raise ValueError("SCRIPE_JOB_LEASE_SECONDS must be at least 3× the heartbeat interval")
        return self

    @model_validator(mode="after")
    def _ai_provider_configured(self) -> Settings:
        if self.generator_provider == "offline":
            return self
        name = self.generator_provider.upper()
        if not self.generator_model:
            raise ValueError(
                f"SCRIPE_GENERATOR_MODEL is required with SCRIPE_GENERATOR_PROVIDER="
                f"{self.generator_provider}, e.g. gpt-4o-mini or claude-sonnet-4-5"
            )
        base_url, key = (
            (self.openai_base_url, self.openai_api_key)
            if self.generator_provider == "openai"
            else (self.anthropic_base_url, self.anthropic_api_key)
        )
        has_key = key is not None and bool(key.get_secret_value().strip())
        if not has_key and not is_loopback_url(base_url):
            raise ValueError(
                f"SCRIPE_{name}_API_KEY is required with SCRIPE_GENERATOR_PROVIDER="
                f"{self.generator_provider} (only a loopback SCRIPE_{name}_BASE_URL such as a "
                "local Ollama may go without one)"
            )
        return self

    @model_validator(mode="after")
    def _transcription_configured(self) -> Settings:
        url, key = self.transcription_base_url, self.transcription_api_key
        has_key = key is not None and bool(key.get_secret_value().strip())
        if url is not None and not has_key and not is_loopback_url(url):
            raise ValueError(
                "SCRIPE_TRANSCRIPTION_API_KEY is required with SCRIPE_TRANSCRIPTION_BASE_URL "
                "(only a loopback URL such as a local whisper server may go without one)"
            )
        return self

    @field_validator("accepted_versions")
    @classmethod
    def _versions_not_empty(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one API version must be accepted")
        return value

    @model_validator(mode="after")
    def _secrets_present_outside_dev(self) -> Settings:
        if not self.secret_keys:
            raise ValueError(
                "SCRIPE_SECRET_KEYS is required, e.g. "
                '\'{"1": "<at least 32 random characters>"}\' (`scripe-api dev` makes one)'
            )
        if self.env == "dev":
            return self
        for version, secret in self.secret_keys.items():
            value = secret.get_secret_value()
            if value.lower() in PLACEHOLDER_SECRETS or len(value) < MIN_SECRET_LENGTH:
                raise ValueError(
                    f"SCRIPE_SECRET_KEYS version {version} is a placeholder or shorter than "
                    f"{MIN_SECRET_LENGTH} characters"
                )
        return self

    @property
    def current_version(self) -> str:
        return self.accepted_versions[0]

    @property
    def uploads_dir(self) -> Path:
        """Where the disk backend keeps uploaded bytes."""
        return self.data_dir / "uploads"

    @property
    def fetch_private_urls_allowed(self) -> bool:
        if self.fetch_allow_private_urls is not None:
            return self.fetch_allow_private_urls
        return self.env != "production"

    @property
    def webhook_private_urls_allowed(self) -> bool:
        if self.webhook_allow_private_urls is not None:
            return self.webhook_allow_private_urls
        return self.env != "production"

    def secrets_newest_first(self) -> list[tuple[int, bytes]]:
        """Active secret versions, current first, as raw bytes for HMAC."""
        return [
            (version, self.secret_keys[version].get_secret_value().encode())
            for version in sorted(self.secret_keys, reverse=True)
        ]

    @property
    def is_dev(self) -> bool:
        return self.env == "dev"

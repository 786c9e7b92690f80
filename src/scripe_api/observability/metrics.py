"""Every Prometheus series the service exports, on one registry (`REGISTRY`).

The registry and its metrics are built once per process when this module is imported (no I/O):
an API process and a worker process each export their own. Apps built later in the same process
(tests build many) share them, so counters are process-wide totals.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)
# prometheus-client's own switch: when set before it is imported (`serve --workers N` sets it for
# its processes), values live in files there and a scrape can sum every process.
MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# Set by `serve --workers N` for its processes: a scrape sums the folder.
SHARED_METRICS_FLAG = "SCRIPE_METRICS_SHARED"

HTTP_REQUESTS = Counter(
    "scripe_http_requests",
    "HTTP responses sent, by method, route template and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_REQUEST_DURATION = Histogram(
    "scripe_http_request_duration_seconds",
    "Time from receiving a request to sending the end of its response.",
    ["method", "route"],
    registry=REGISTRY,
)
JOBS_FINISHED = Counter(
    "scripe_jobs_finished",
    "Jobs that reached a terminal status (DONE, FAILED, CANCELLED), counted at commit.",
    ["type", "status"],
    registry=REGISTRY,
)
JOB_DURATION = Histogram(
    "scripe_job_duration_seconds",
    "Time from a job's creation to its terminal status.",
    ["type"],
    registry=REGISTRY,
    buckets=(0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600),
)
WEBHOOK_DELIVERIES = Counter(
    "scripe_webhook_deliveries",
    "Webhook delivery attempts by outcome: succeeded, retrying, failed (the schedule ran out), "
    "and the endpoint disabled (gone, failing, ssrf_blocked).",
    ["outcome"],
    registry=REGISTRY,
)
WEBHOOK_RESPONSE_SECONDS = Histogram(
    "scripe_webhook_response_seconds",
    "Time each webhook endpoint took to answer an attempt (errors and timeouts included).",
    ["endpoint"],
    registry=REGISTRY,
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30),
)
QUEUE_DEPTH = Gauge(
    "scripe_queue_depth",
    "Queue entries due now that no worker has taken; sampled when metrics are scraped or "
    "health is checked (API) and at each sweep (workers).",
    registry=REGISTRY,
    # Across API processes: the latest sample wins (every process reads the same queue).
    multiprocess_mode="mostrecent",
)
COMPLETION_RETRIES = Counter(
    "scripe_job_completion_retries",
    "Transactions saving a job's outcome that failed transiently and were tried again "
    "(the work itself is not redone).",
    registry=REGISTRY,
)
SWEEP_REPAIRS = Counter(
    "scripe_sweep_repairs",
    "Jobs the sweep repaired: requeued (lost enqueue), retried (expired lease), exhausted, "
    "expired (not started by its Cancel-After deadline).",
    ["kind"],
    registry=REGISTRY,
)
SPEND_RESERVED_CENTS = Counter(
    "scripe_spend_reserved_cents",
    "AI spend reserved at submit (estimates), in US cents.",
    registry=REGISTRY,
)
SPEND_RECONCILED_CENTS = Counter(
    "scripe_spend_reconciled_cents",
    "AI spend settled when jobs ended (actual provider cost), in US cents.",
    registry=REGISTRY,
)
RATE_LIMIT_REJECTIONS = Counter(
    "scripe_rate_limit_rejections",
    "Requests refused with 429, by rate limit bucket.",
    ["bucket"],
    registry=REGISTRY,
)
RATE_LIMIT_FAIL_OPEN = Counter(
    "scripe_rate_limit_fail_open",
    "Requests served unlimited because the rate limiter could not reach Redis.",
    registry=REGISTRY,
)

"""What a measured case sees of the run: the harness implements it, the cases only use it (so
bench.cases never imports bench.harness)."""

from __future__ import annotations

from typing import Protocol

from bench.database import Database, Tenant
from bench.measure import Meter
from bench.options import Options
from bench.processes import Proc, Services
from bench.results import Results


class Stage(Protocol):
    options: Options
    results: Results
    base_url: str
    db: Database
    services: Services
    meter: Meter
    tenant: Tenant
    api: Proc | None
    worker: Proc | None

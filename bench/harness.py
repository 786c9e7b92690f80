"""The benchmark run: servers, a fresh database, the service in production mode, the cases, the
table and bench/RESULTS.md. See bench/README.md."""

from __future__ import annotations

import signal
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import asyncpg
import redis

from bench import loads
from bench.cases import case_arq, case_e2e, case_e2e_wrk, case_floor, case_wake
from bench.console import say
from bench.database import Database, Tenant, seed
from bench.loads import Request
from bench.measure import Meter
from bench.options import BASE_ROWS, DATABASE, Options, parse_options
from bench.processes import Proc, Services, service_env
from bench.report import describe_machine, render, render_document
from bench.results import Results


class Bench:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.workdir = Path(tempfile.mkdtemp(prefix="scripe-bench-"))
        self.results = Results()
        self.base_url = f"http://127.0.0.1:{options.port}"
        self.db = Database(options)
        self.services = Services(self.workdir, self.base_url, options.experiments)
        self.meter = Meter(options, self.workdir, self.base_url, self.results)
        self.tenant = Tenant("", "", "")
        self.api: Proc | None = None
        self.worker: Proc | None = None

    def prepare(self) -> None:
        """A fresh database and Redis db, the load generator, the machine's description, the
        service's environment, and the tenant the loads use."""
        options = self.options
        self.db.start_servers(self.workdir)
        postgres_version = self.db.create()
        redis_version = self.db.flush_redis()
        if options.loader != "httpx":
            self.meter.wrk = loads.ensure_wrk(allow_install=options.install_wrk)
            if self.meter.wrk is None:
                if options.loader == "wrk":
                    raise RuntimeError("wrk is not installed (apt-get install wrk)")
                self.results.notes.append("wrk missing: the httpx loader measured the HTTP cases")
        self.results.machine = describe_machine(postgres_version, redis_version, self.meter.wrk)
        self.services.env = service_env(self.db.database_url, self.db.redis_url, options.port)
        self.tenant = seed(self.services)

    def execute(self) -> None:
        started = time.monotonic()
        self.prepare()
        if self.options.hold:
            self.hold()
            return
        case_floor(self)
        self.api = self.services.start_api()
        self.worker = self.services.start_worker()
        # The workspace's history (and the statistics autovacuum would keep) before any case.
        self.results.rows["small"] = self.db.add_rows(BASE_ROWS, self.tenant)
        case_e2e_wrk(self)
        job_id = case_e2e(self)
        case_wake(self)
        self.results.rss["worker"] = self.worker.rss_mb()
        self.worker.stop()
        case_arq(self)
        self.http_cases(self.api, job_id)
        self.results.rss["api"] = self.api.rss_mb()
        self.api.stop()
        self.results.seconds = time.monotonic() - started

    def http_cases(self, api: Proc, job_id: str) -> None:
        """The API's HTTP cases on the history and the end-to-end cases' jobs, then the two
        GETs at --big-rows."""
        meter = self.meter
        self.results.rows["small"] = self.db.job_count()
        self.db.sql_script("VACUUM ANALYZE")
        self.results.plans.update(self.db.explain("small", self.tenant.workspace_id, job_id))
        headers = loads.auth_headers(self.tenant.key)
        get_job = Request("GET", f"/v1/jobs/{job_id}", headers)
        list_jobs = Request("GET", "/v1/jobs?limit=50", headers)
        meter.http_case("get_job", get_job, api, profile_title="API under GET /v1/jobs/{id}")
        meter.http_case(
            "list_jobs", list_jobs, api, profile_title="API under GET /v1/jobs?limit=50"
        )
        post = Request(
            "POST",
            "/v1/posts/generations",
            {**headers, "Content-Type": "application/json"},
            body=loads.generation_body(self.tenant.project_id),
            unique_idempotency_key=True,
        )
        meter.http_case("post_generation", post, api, profile_title="API under POST generations")

        self.results.rows["big"] = self.db.add_rows(self.options.big_rows, self.tenant)
        self.results.plans.update(self.db.explain("big", self.tenant.workspace_id, job_id))
        meter.http_case("get_job_big", get_job, api)
        meter.http_case("list_jobs_big", list_jobs, api)

    def hold(self) -> None:
        self.api = self.services.start_api()
        self.worker = self.services.start_worker()
        tenant = self.tenant
        loads.run_submitter(self.base_url, tenant.key, tenant.project_id, n=50, connections=4)
        time.sleep(2)
        self.results.rows["small"] = self.db.add_rows(BASE_ROWS, tenant)
        job_id = self.db.sql("SELECT id FROM jobs ORDER BY created_at DESC LIMIT 1")[0]["id"]
        env_file = self.workdir / "bench.env"
        env_file.write_text(
            f"API={self.base_url}\nKEY={tenant.key}\nPROJECT={tenant.project_id}\nJOB={job_id}\n"
            f"API_PID={self.api.pid}\nWORKER_PID={self.worker.pid}\n"
        )
        say(f"holding: API pid {self.api.pid}, worker pid {self.worker.pid}; see {env_file}")
        say("Ctrl-C (or SIGTERM) stops everything and drops the database")
        stop = False

        def on_signal(signum: int, frame: object) -> None:
            nonlocal stop
            stop = True

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        while not stop:
            time.sleep(0.5)

    def cleanup(self) -> None:
        self.services.stop_all()
        try:
            self.db.drop()
        except (OSError, asyncpg.PostgresError) as error:
            say(f"could not drop {DATABASE}: {error}")
        try:
            self.db.flush_redis()
        except redis.RedisError as error:
            say(f"could not flush Redis: {error}")
        self.db.stop_servers()


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    bench = Bench(options)
    failed: BaseException | None = None
    try:
        bench.execute()
    except (RuntimeError, OSError, asyncpg.PostgresError, redis.RedisError) as error:
        failed = error
    except KeyboardInterrupt:
        say("interrupted")
        failed = KeyboardInterrupt()
    finally:
        bench.cleanup()
    table = render(bench.results, options)
    print(table)
    if failed is not None:
        say(f"FAILED: {failed}")
        say(f"logs: {bench.workdir}")
        return 1
    # --hold measures nothing: it must not replace the last real results.
    if options.output is not None and not options.hold:
        options.output.write_text(render_document(bench.results, options, table))
        say(f"wrote {options.output}")
    for text in bench.results.profiles.values():
        print(text)
    say(f"logs and profiles: {bench.workdir}")
    return 0

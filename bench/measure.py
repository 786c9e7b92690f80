"""HTTP loads against a running server: warm-up, measurement, the server's CPU per request and,
with --profile, py-spy samples."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench import loads, profiling
from bench.console import say
from bench.loads import LoadResult, Request
from bench.options import Options
from bench.processes import Proc
from bench.results import Results


class Meter:
    def __init__(self, options: Options, workdir: Path, base_url: str, results: Results) -> None:
        self.options = options
        self.workdir = workdir
        self.base_url = base_url
        self.results = results
        self.wrk: str | None = None  # None: the httpx loader
        self.last_cpu_ms = float("nan")
        self.last_sys_share = float("nan")

    def load(self, request: Request, server: Proc | None = None) -> LoadResult:
        """Warm up, then measure; with `server`, its CPU per request goes to `last_cpu_ms`."""
        if self.options.warmup > 0:
            self._run(request, self.options.warmup)
        nan = (float("nan"), float("nan"))
        before = server.cpu_times() if server is not None else nan
        result = self._run(request, self.options.duration)
        after = server.cpu_times() if server is not None else nan
        user, system = after[0] - before[0], after[1] - before[1]
        used = user + system
        self.last_cpu_ms = used * 1000 / result.requests if result.requests else float("nan")
        self.last_sys_share = system / used if used > 0 else float("nan")
        return result

    def _run(self, request: Request, seconds: float) -> LoadResult:
        options = self.options
        if self.wrk is not None:
            return loads.run_wrk(
                self.wrk,
                self.base_url,
                request,
                connections=options.connections,
                threads=options.threads,
                seconds=seconds,
                workdir=self.workdir,
            )
        return loads.run_http_loader(
            self.base_url, request, connections=options.connections, seconds=seconds
        )

    @contextmanager
    def profiled(self, proc: Proc | None, name: str, title: str) -> Iterator[None]:
        if not self.options.profile or proc is None:
            yield
            return
        raw = self.workdir / f"profile-{name}.txt"
        sampler = profiling.Sampler(proc.pid, raw)
        started = sampler.start()
        try:
            yield
        finally:
            if started:
                sampler.stop()
                summary = profiling.summarize(raw, skip_inclusive=profiling.PLUMBING)
                if summary is not None:
                    self.results.profiles[name] = summary.render(title)
                    say(f"profile {name}: {raw}")
            else:
                self.results.notes.append("py-spy not found: no profiles")

    def http_case(
        self,
        name: str,
        request: Request,
        server: Proc | None,
        *,
        profile_title: str | None = None,
    ) -> None:
        say(f"case {name}: {request.method} {request.path}")
        if profile_title:
            with self.profiled(server, name, profile_title):
                result = self.load(request, server)
        else:
            result = self.load(request, server)
        self.results.http[name] = result
        self.results.cpu_ms[name] = self.last_cpu_ms
        self.results.sys_share[name] = self.last_sys_share
        say(
            f"  {result.rps:,.0f} req/s  p50 {result.p50_ms:.2f} ms  p99 {result.p99_ms:.2f} ms  "
            f"server CPU {self.last_cpu_ms:.2f} ms/req ({self.last_sys_share:.0%} sys)  "
            f"errors {result.errors}  non-2xx {result.non_2xx}"
        )

"""Schemathesis hooks for test_schema_fuzzing (loaded by the schemathesis CLI process through
SCHEMATHESIS_HOOKS, never imported by pytest).

Generated ids are unknown to the server (a documented 404). Half the time these hooks swap in
the ids of real resources of the fuzzed workspace, named by SCRIPE_CONTRACT_IDS (JSON:
projectId, noteId, postId, jobId, sourceId, endpointId, deliveryId, uploadId and its signed URL's
expires and signature), so generated fields also reach the happy paths: posts created and
patched, generations submitted and run, notes and sources read, jobs cancelled, webhook
deliveries listed and redelivered, an upload PUT.
"""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis
from hypothesis import strategies as st

REAL_IDS: dict[str, str] = json.loads(os.environ.get("SCRIPE_CONTRACT_IDS", "{}"))


def with_real_ids(values: Any) -> st.SearchStrategy[Any]:
    """`values` as generated, or with each id it carries replaced by a real one."""
    if not isinstance(values, dict):
        return st.just(values)
    real: dict[str, Any] = {name: REAL_IDS[name] for name in values if name in REAL_IDS}
    source = values.get("source")
    if isinstance(source, dict):
        for name in ("noteId", "sourceId"):
            if name in source and name in REAL_IDS:
                real["source"] = {**source, name: REAL_IDS[name]}
    if not real:
        return st.just(values)
    return st.sampled_from([values, {**values, **real}])


@schemathesis.hook
def flatmap_path_parameters(
    context: schemathesis.HookContext, path_parameters: dict[str, Any]
) -> st.SearchStrategy[Any]:
    return with_real_ids(path_parameters)


@schemathesis.hook
def flatmap_query(
    context: schemathesis.HookContext, query: dict[str, Any]
) -> st.SearchStrategy[Any]:
    return with_real_ids(query)


@schemathesis.hook
def flatmap_body(context: schemathesis.HookContext, body: Any) -> st.SearchStrategy[Any]:
    return with_real_ids(body)

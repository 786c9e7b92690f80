"""OpenAPI links: how one operation's response feeds the next (submit → poll → cancel → post)."""

from __future__ import annotations

from typing import Any


def _link(operation_id: str, description: str, **parameters: str) -> dict[str, Any]:
    return {"operationId": operation_id, "description": description, "parameters": parameters}


_DATA_ID = "$response.body#/data/id"

# Links let SDK docs and stateful tools chain calls: submit → poll → cancel, job → post.
JOB_LINKS: dict[str, Any] = {
    "GetJob": _link(
        "get_job", "Poll the job until it is DONE, FAILED or CANCELLED.", jobId=_DATA_ID
    ),
    "CancelJob": _link("cancel_job", "Cancel the job while it is still QUEUED.", jobId=_DATA_ID),
}
JOB_RESULT_LINKS: dict[str, Any] = {
    **JOB_LINKS,
    "GetPost": _link(
        "get_post",
        "The post a DONE POST_GENERATION job wrote (`result.postId`).",
        postId="$response.body#/data/result/postId",
    ),
}
CANCELLED_JOB_LINKS: dict[str, Any] = {"GetJob": JOB_LINKS["GetJob"]}
POST_LINKS: dict[str, Any] = {
    "GetPost": _link("get_post", "Read the post.", postId=_DATA_ID),
    "UpdatePost": _link("update_post", "Edit or (un)schedule the post.", postId=_DATA_ID),
    "GetProject": _link(
        "get_project", "The post's project.", projectId="$response.body#/data/projectId"
    ),
}
NOTE_LINKS: dict[str, Any] = {
    "GetNote": _link("get_note", "Read the note.", noteId=_DATA_ID),
}
WEBHOOK_ENDPOINT_LINKS: dict[str, Any] = {
    "GetWebhookEndpoint": _link("get_webhook_endpoint", "Read the endpoint.", endpointId=_DATA_ID),
    "UpdateWebhookEndpoint": _link("update_webhook_endpoint", "Change it.", endpointId=_DATA_ID),
    "ListWebhookDeliveries": _link(
        "list_webhook_deliveries", "Its delivery log.", endpointId=_DATA_ID
    ),
    "RotateWebhookSecret": _link(
        "rotate_webhook_secret", "Rotate its secret.", endpointId=_DATA_ID
    ),
    "ReplayWebhookDeliveries": _link(
        "replay_webhook_deliveries", "Replay its deliveries.", endpointId=_DATA_ID
    ),
    "DeleteWebhookEndpoint": _link("delete_webhook_endpoint", "Delete it.", endpointId=_DATA_ID),
}
PROJECT_LINKS: dict[str, Any] = {
    "ListPosts": _link("list_posts", "The project's posts.", projectId=_DATA_ID),
    "ListNotes": _link("list_notes", "The project's notes.", projectId=_DATA_ID),
}

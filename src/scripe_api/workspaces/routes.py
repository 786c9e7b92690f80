from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from scripe_api.api.access import Access
from scripe_api.api.pipeline import GuardedRoute
from scripe_api.auth.principal import Principal
from scripe_api.workspaces.schemas import (
    PrincipalRead,
    WorkspaceFeatures,
    WorkspaceMe,
    WorkspaceSummary,
)

router = APIRouter(route_class=GuardedRoute, tags=["workspaces"])

AnyKey = Annotated[Principal, Depends(Access())]


@router.get(
    "/workspaces/me",
    response_model=WorkspaceMe,
    summary="Get the key's workspace",
    response_description="The workspace and the key (not wrapped in `data`).",
)
async def get_workspace_me(principal: AnyKey) -> WorkspaceMe:
    """The workspace the API key belongs to, and the key itself (id and scopes)."""
    return WorkspaceMe(
        workspace=WorkspaceSummary(
            id=principal.workspace_id,
            name=principal.workspace_name,
            plan=principal.plan,
            features=WorkspaceFeatures(api_access=True),
        ),
        principal=PrincipalRead(id=principal.key_id, scopes=sorted(principal.scopes)),
    )

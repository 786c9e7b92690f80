"""What the API process holds for its lifetime, reachable as `app.state.services`."""

from __future__ import annotations

from dataclasses import dataclass, field

from scripe_api.api.access import AccessHook
from scripe_api.auth.service import Authenticator
from scripe_api.core.pagination import CursorCodec
from scripe_api.resources import Resources
from scripe_api.settings import Settings


@dataclass
class Services:
    settings: Settings
    resources: Resources
    authenticator: Authenticator
    cursors: CursorCodec
    access_hooks: list[AccessHook] = field(default_factory=list)

    @classmethod
    def build(cls, settings: Settings, resources: Resources) -> Services:
        return cls(
            settings=settings,
            resources=resources,
            authenticator=Authenticator(settings, resources.sessionmaker),
            cursors=CursorCodec(settings.secrets_newest_first()),
        )

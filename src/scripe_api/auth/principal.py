"""Who is calling: the resolved key and its workspace, as every layer sees it."""

from __future__ import annotations

from dataclasses import dataclass

from scripe_api.auth.keys import KeyMode


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str
    workspace_id: str
    workspace_name: str
    plan: str
    scopes: frozenset[str]
    mode: KeyMode

    @property
    def is_test(self) -> bool:
        return self.mode == "test"

    def has_any_scope(self, accepted: tuple[str, ...]) -> bool:
        return not accepted or any(scope in self.scopes for scope in accepted)

"""Settings refuse to run outside dev without a real secret."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from scripe_api.settings import Settings

GOOD = "a-real-secret-with-more-than-32-characters-0123"


@pytest.mark.parametrize("env", ["production", "test"])
@pytest.mark.parametrize(
    "secret_keys",
    [
        {},
        {1: ""},
        {1: "change-me"},
        {1: "CHANGEME"},
        {1: "x" * 31},
        {2: GOOD, 1: "secret"},
    ],
)
def test_missing_placeholder_or_short_secret_is_refused(
    env: str, secret_keys: dict[int, str]
) -> None:
    with pytest.raises(ValidationError, match="SCRIPE_SECRET_KEYS"):
        Settings.model_validate({"env": env, "secret_keys": secret_keys})


def test_real_secrets_are_accepted_newest_first() -> None:
    settings = Settings.model_validate(
        {"env": "production", "secret_keys": {1: GOOD, 2: GOOD[::-1]}}
    )
    assert [version for version, _ in settings.secrets_newest_first()] == [2, 1]


def test_every_mode_needs_a_secret_but_dev_accepts_a_short_one() -> None:
    with pytest.raises(ValidationError, match="SCRIPE_SECRET_KEYS is required"):
        Settings.model_validate({"env": "dev"})
    assert Settings.model_validate({"env": "dev", "secret_keys": {1: "short"}}).is_dev


def test_secret_never_shows_in_the_settings_repr() -> None:
    settings = Settings.model_validate({"env": "production", "secret_keys": {1: GOOD}})
    assert GOOD not in repr(settings)
    assert GOOD not in str(settings.model_dump())

"""How a failure reaches the operator: one line on stderr and exit code 1, never a traceback."""

from __future__ import annotations

import pydantic
import typer
from pydantic_settings import SettingsError

from scripe_api.core.errors import AppError
from scripe_api.embedded import EmbeddedError


class CliError(Exception):
    """A failure the operator can act on; its message is the whole explanation."""


def one_line(text: str) -> str:
    return " ".join(text.split())


def describe_validation(error: pydantic.ValidationError, *, env_prefix: str = "") -> str:
    """`field: problem; …`; with `env_prefix` fields are named as their environment variables."""
    parts = []
    for item in error.errors():
        message = item["msg"].removeprefix("Value error, ")
        location = ".".join(str(part) for part in item["loc"])
        if env_prefix and item["loc"]:
            location = env_prefix + str(item["loc"][0]).upper()
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(parts)


def describe(error: BaseException) -> str:
    """The one line shown for an error that escaped a command."""
    if isinstance(error, CliError):
        return str(error)
    if isinstance(error, AppError):
        return error.message
    if isinstance(error, typer.TyperException):
        # Usage errors (bad or missing options) carry the context of the command they hit.
        message = error.format_message().replace("Value error, ", "")
        context = getattr(error, "ctx", None)
        if context is None:
            return message
        return f"{message} (see '{context.command_path} --help')"
    if isinstance(error, pydantic.ValidationError):
        return f"invalid value: {describe_validation(error)}"
    if isinstance(error, SettingsError):
        return f"invalid configuration: {error}"
    if isinstance(error, EmbeddedError):
        # The message may carry a server log tail; its first line names the failure.
        return next((line for line in str(error).splitlines() if line.strip()), "")
    return f"unexpected {type(error).__name__}: {error}"


def render(error: BaseException) -> str:
    return f"error: {one_line(describe(error))}"

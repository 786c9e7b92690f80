"""Declarative base: one metadata with a naming convention so migrations name constraints stably."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import MetaData
from sqlalchemy.dialects.postgresql import TIMESTAMP
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Millisecond precision everywhere, so the API, cursors and the database agree exactly.
TimestampMs = TIMESTAMP(timezone=True, precision=3)


# Database-clock "now" at millisecond precision, the precision every timestamp is stored at
# (an SQL fragment for the hand-written statements).
NOW_MS = "date_trunc('milliseconds', now())"


def timestamp_sql(column: str) -> str:
    """A timestamp as the API writes it (2026-05-15T08:21:00.000Z), rendered by Postgres."""
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"""


def can_exist(identifier: str) -> bool:
    """False for an id no row can have: Postgres text holds neither NUL nor a lone surrogate
    (which a JSON body can carry as `\\ud800`), so such an id (opaque, never pattern-validated)
    is simply not found instead of a database error."""
    if "\x00" in identifier:
        return False
    try:
        identifier.encode()
    except UnicodeEncodeError:
        return False
    return True


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: TimestampMs}

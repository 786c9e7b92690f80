"""What commands print: plain lines and rich tables on stdout, never markup from user data."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table
from rich.text import Text

# Piped output (scripts, tests) gets tables at their natural width instead of squeezed to 80
# columns, so ids are never wrapped or truncated.
_PIPED_WIDTH = 1000


def _console() -> Console:
    width = None if sys.stdout.isatty() else _PIPED_WIDTH
    return Console(file=sys.stdout, width=width, highlight=False, soft_wrap=True)


def say(message: str) -> None:
    """A line on stdout, printed as is (user data can hold brackets that look like markup)."""
    _console().print(message, markup=False)


def _print(renderable: Table) -> None:
    # Without the padding rich leaves after the last column.
    console = _console()
    with console.capture() as capture:
        console.print(renderable)
    console.file.write("".join(line.rstrip() + "\n" for line in capture.get().splitlines()))
    console.file.flush()


def table(columns: Sequence[str], rows: Iterable[Sequence[str | None]], *, empty: str) -> None:
    items = list(rows)
    if not items:
        say(empty)
        return
    grid = Table(box=None, header_style="bold", pad_edge=False)
    for index, column in enumerate(columns):
        # Ids (the first column) are copied into other commands: never wrap them.
        grid.add_column(column, no_wrap=index == 0)
    for row in items:
        grid.add_row(*(Text(value if value is not None else "-") for value in row))
    _print(grid)


def fields(pairs: Iterable[tuple[str, str | None]]) -> None:
    """`label  value` lines, labels aligned."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for label, value in pairs:
        grid.add_row(Text(label), Text(value if value is not None else "-"))
    _print(grid)


def when(value: datetime | None) -> str | None:
    """`2026-05-15 08:21 UTC`: minutes are what an operator compares."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")

"""Splitting a document into passages small enough to rank and to quote in a prompt.

Paragraphs are kept whole and packed together up to `MAX_CHARS`; a paragraph longer than that
is cut at a sentence end, else at whitespace, so a word is split only when it alone is longer
than a chunk.
"""

from __future__ import annotations

import re

MIN_CHARS = 800
MAX_CHARS = 1200
PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*\s")
WHITESPACE = re.compile(r"\s")
JOINER = "\n\n"


def chunk_text(text: str) -> list[str]:
    """The passages of `text`, in order (none when it is only whitespace)."""
    pieces: list[str] = []
    for paragraph in PARAGRAPH_BREAK.split(text):
        pieces.extend(_split_long(paragraph.strip()))
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        if not current:
            current = piece
        elif len(current) + len(JOINER) + len(piece) <= MAX_CHARS:
            current += JOINER + piece
        else:
            chunks.append(current)
            current = piece
    if current:
        chunks.append(current)
    return chunks


def _split_long(paragraph: str) -> list[str]:
    pieces: list[str] = []
    rest = paragraph
    while len(rest) > MAX_CHARS:
        cut = _break_point(rest)
        pieces.append(rest[:cut].strip())
        rest = rest[cut:].strip()
    if rest:
        pieces.append(rest)
    return pieces


def _break_point(text: str) -> int:
    """Where to end the next piece: the last sentence end, else the last whitespace, found
    between MIN_CHARS and MAX_CHARS; a hard cut at MAX_CHARS when there is neither."""
    window = text[: MAX_CHARS + 1]
    for pattern in (SENTENCE_END, WHITESPACE):
        ends = [match.end() for match in pattern.finditer(window, MIN_CHARS)]
        if ends:
            return ends[-1]
    return MAX_CHARS

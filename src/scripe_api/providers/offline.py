"""The offline generator: deterministic, no network, no model — and never presented as AI.

It lays out a LinkedIn post from the source's own sentences (no invented facts): the most
informative sentence (term frequency, boosted by pillar and knowledge vocabulary) becomes the
hook, the next best fill short paragraphs within the length band, and the profile decides emoji
and hashtags. CPU work: beyond a few kilobytes of text it runs in a thread so the worker's event
loop keeps its heartbeats.

Guarantees (tests/providers/test_offline.py checks them on arbitrary text): at most the band's
upper bound (and LinkedIn's 3000); at least its lower bound whenever the source has that much
text; a first line of at most 210 characters; no markdown headings or bold; every body sentence
is a sentence of the source (a very long one is cut into pieces of at most 200 characters); the
hashtags (`#CamelCase`, distinct) alone on the last line.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from scripe_api.providers.base import (
    LENGTH_BANDS,
    LINKEDIN_MAX_CHARS,
    GeneratedPost,
    GenerationContext,
    ProgressCallback,
    Usage,
)
from scripe_api.providers.vocabulary import best_pillar, salient_terms
from scripe_api.providers.vocabulary import words as _words

# Up to this much text (source and passages) a post is composed on the event loop itself (about
# a millisecond at most; a short source takes a tenth of that, less than handing the work to a
# thread costs); longer texts go to a thread so heartbeats and other attempts are never held up.
INLINE_MAX_CHARS = 1024
HOOK_MAX_CHARS = 210
TITLE_MAX_CHARS = 80
# A sentence longer than this is cut into pieces, so any one (with an emoji either side) fits the
# hook line and a source of one enormous sentence still fills the length band.
UNIT_MAX_CHARS = 200
PARAGRAPH_MAX_CHARS = 320
MAX_HASHTAGS = 10
HASHTAG_MAX_CHARS = 40
EMPTY = "…"
_SENTENCE_END = re.compile(r"(?<=[.!?؟…])\s+|(?<=[。！？])")
_CLAUSE_END = re.compile(r"[,;:،]\s|[、\uff0c\uff1b\uff1a]")  # CJK: full-width , ; :
_BULLET = re.compile(r"^(?:[-*+•·▪–—]|\d+[.)])\s+")
_BOLD = re.compile(r"\*{2,}|_{2,}")
_LEADING_HASHES = re.compile(r"^(?:#+\s*)+")
_ALNUM_RUN = re.compile(r"[^\W_]+")
_EMOJI = {"light": ["👉"], "heavy": ["🚀", "💡", "👉", "✅", "🔥"]}
HEAVY_CLOSER = "🙌"


@dataclass(frozen=True)
class _Sentence:
    index: int
    text: str
    score: float


def strip_markup(text: str) -> str:
    """The text without bold/underline markers (repeated: removing one may join another)."""
    while True:
        stripped = _BOLD.sub("", text)
        if stripped == text:
            return text
        text = stripped


def _clean(piece: str) -> str:
    return _LEADING_HASHES.sub("", " ".join(piece.split()))


def _chunks(text: str, limit: int = UNIT_MAX_CHARS) -> Iterator[str]:
    """Pieces of at most `limit` characters: cut after a clause mark, else at a space, else hard."""
    while len(text) > limit:
        window = text[: limit + 1]
        clauses = [m.start() + 1 for m in _CLAUSE_END.finditer(window) if m.start() < limit]
        space = window.rfind(" ")
        if clauses and clauses[-1] >= limit // 2:
            cut = clauses[-1]
        elif space > 0:
            cut = space
        else:
            cut = limit
        yield text[:cut].rstrip()
        text = text[cut:].lstrip()
    if text:
        yield text


def units(source: str) -> list[str]:
    """The source's sentences (long ones in pieces), cleaned of markup, bullets and headings."""
    pieces: list[str] = []
    for line in strip_markup(source).splitlines():
        line = _BULLET.sub("", _LEADING_HASHES.sub("", line.strip()))
        for sentence in _SENTENCE_END.split(line):
            for chunk in _chunks(_clean(sentence)):
                chunk = _clean(chunk)
                if chunk:
                    pieces.append(chunk)
    return pieces


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return (cut.rstrip(" ,;:-") or cut) + "…"


def _camel(text: str) -> str:
    parts = []
    for run in _ALNUM_RUN.findall(text):
        head = run[0].upper()
        parts.append((head if head.isalnum() else run[0]) + run[1:])
    return "".join(parts)


def _score(sentences: list[str], boost_words: set[str]) -> list[_Sentence]:
    frequencies = Counter(word for sentence in sentences for word in _words(sentence))
    scored = []
    for index, text in enumerate(sentences):
        words = set(_words(text))
        if not words:
            scored.append(_Sentence(index, text, 0.0))
            continue
        weight = sum(frequencies[w] + (2 if w in boost_words else 0) for w in words)
        scored.append(_Sentence(index, text, weight / math.sqrt(len(words) + 1)))
    return scored


def _hashtag_count(profile: dict[str, Any]) -> int:
    try:
        count = int(profile.get("hashtagCount", 3))
    except (TypeError, ValueError):
        count = 3
    return max(0, min(count, MAX_HASHTAGS))


def hashtags(
    pillars: list[dict[str, str]], pillar: dict[str, str] | None, text: str, count: int
) -> list[str]:
    """Up to `count` distinct `#CamelCase` tags: pillar names first (the best one leading), then
    the source's salient terms."""
    ordered = ([pillar] if pillar else []) + [p for p in pillars if p is not pillar]
    candidates = [_camel(str(p.get("name", ""))) for p in ordered]
    candidates.extend(_camel(term) for term in salient_terms(text))
    tags: list[str] = []
    seen: set[str] = set()
    for candidate in candidates:
        if len(tags) >= count:
            break
        key = candidate.casefold()
        if not candidate or candidate.isdigit() or len(candidate) > HASHTAG_MAX_CHARS:
            continue
        if key not in seen:
            seen.add(key)
            tags.append(f"#{candidate}")
    return tags


def _render(hook: str, body: list[_Sentence], tags: list[str], emoji_mode: str) -> str:
    paragraphs: list[list[str]] = []
    for sentence in body:
        last = paragraphs[-1] if paragraphs else None
        if last and len(last) < 2 and len(last[0]) + len(sentence.text) < PARAGRAPH_MAX_CHARS:
            last.append(sentence.text)
        else:
            paragraphs.append([sentence.text])
    blocks = [" ".join(paragraph) for paragraph in paragraphs]
    emoji = _EMOJI.get(emoji_mode, [])
    if emoji_mode == "heavy":
        blocks = [f"{emoji[(i + 1) % len(emoji)]} {block}" for i, block in enumerate(blocks)]
    lead = f"{emoji[0]} {hook}" if emoji else hook
    blocks.insert(0, lead)
    if emoji_mode == "heavy":
        blocks[-1] = f"{blocks[-1]} {HEAVY_CLOSER}"
    if tags:
        blocks.append(" ".join(tags))
    return "\n\n".join(blocks)


def compose(context: GenerationContext) -> GeneratedPost:
    """The whole post, synchronously (call through `OfflineProvider.generate`)."""
    lower, upper = LENGTH_BANDS.get(context.length, LENGTH_BANDS["medium"])
    upper = min(upper, LINKEDIN_MAX_CHARS)
    target = (lower + upper) // 2
    profile = context.profile
    sentences = units(context.source_text) or [EMPTY]
    source_words = {w for s in sentences for w in _words(s)}
    pillar = best_pillar(context.pillars, source_words)
    boost = set(
        _words(" ".join([*(p.get("name", "") for p in context.pillars), *context.knowledge]))
    )
    # A repeated sentence comes after every distinct one: used only if the band needs it.
    first = {text: index for index, text in reversed(list(enumerate(sentences)))}
    ranked = sorted(
        _score(sentences, boost), key=lambda s: (first[s.text] != s.index, -s.score, s.index)
    )

    emoji_mode = str(profile.get("emoji", "none"))
    tags = hashtags(context.pillars, pillar, " ".join(sentences), _hashtag_count(profile))
    hook = ranked[0].text

    # The best sentences, in source order, until the post reaches the middle of the band;
    # a sentence that would overflow the band is skipped.
    chosen: list[_Sentence] = []
    content = _render(hook, chosen, tags, emoji_mode)
    for sentence in ranked[1:]:
        if len(content) >= target:
            break
        trial = sorted([*chosen, sentence], key=lambda s: s.index)
        rendered = _render(hook, trial, tags, emoji_mode)
        if len(rendered) <= upper:
            chosen, content = trial, rendered
    title = _truncate(hook, TITLE_MAX_CHARS)
    return GeneratedPost(title=title, content=content, usage=Usage())


# What a paced run reports on its way, like a real provider streaming its answer.
PACED_STEPS = (
    (0.45, "Drafting hook"),
    (0.5, "Writing the opening"),
    (0.55, "Writing the body"),
    (0.6, "Adding an example"),
    (0.65, "Choosing hashtags"),
    (0.7, "Generating post"),
)


class OfflineProvider:
    """Writes the post from the inputs alone. With `pace_seconds` (the dev stack's default),
    it takes that long and reports progress along the way, so a person trying the API sees a
    job QUEUED, RUNNING with progress, then DONE; without, it answers as fast as it can."""

    name = "offline"
    model: str | None = None
    is_ai = False

    def __init__(self, pace_seconds: float = 0.0) -> None:
        self.pace_seconds = pace_seconds

    async def generate(
        self, context: GenerationContext, progress: ProgressCallback
    ) -> GeneratedPost:
        await progress(0.4, "Drafting hook")
        if len(context.source_text) + sum(map(len, context.knowledge)) <= INLINE_MAX_CHARS:
            post = compose(context)
        else:
            post = await asyncio.to_thread(compose, context)
        if self.pace_seconds > 0:
            for fraction, message in PACED_STEPS:
                await asyncio.sleep(self.pace_seconds / len(PACED_STEPS))
                await progress(fraction, message)
        else:
            await progress(0.7, "Generating post")
        return post

"""The offline generator: deterministic, no network, no model — and never presented as AI.

It lays out a LinkedIn post from the source's own sentences (no invented facts): the most
informative sentence (term frequency, boosted by pillar and knowledge vocabulary) becomes the
hook, the next best fill short paragraphs within the length band, and the profile decides emoji
and hashtags. CPU work: it runs in a thread so the worker's event loop keeps its heartbeats.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections import Counter
from dataclasses import dataclass

from scripe_api.providers.base import (
    LENGTH_BANDS,
    LINKEDIN_MAX_CHARS,
    GeneratedPost,
    GenerationContext,
    ProgressCallback,
    Usage,
)
from scripe_api.providers.vocabulary import WORD as _WORD
from scripe_api.providers.vocabulary import best_pillar
from scripe_api.providers.vocabulary import words as _words

HOOK_MAX_CHARS = 210
TITLE_MAX_CHARS = 80
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+")
_BULLET = re.compile(r"^\s*(?:[-*•·▪–]|\d+[.)])\s+")
_MARKUP = re.compile(r"(\*\*|__|^#{1,6}\s*)", re.MULTILINE)
_EMOJI = {"light": ["👉"], "heavy": ["🚀", "💡", "👉", "✅", "🔥", "🙌"]}


@dataclass(frozen=True)
class _Sentence:
    index: int
    text: str
    score: float


def _sentences(source: str) -> list[str]:
    cleaned = _MARKUP.sub("", source)
    pieces: list[str] = []
    for line in cleaned.splitlines():
        line = _BULLET.sub("", line).strip()
        if line:
            pieces.extend(part.strip() for part in _SENTENCE_END.split(line) if part.strip())
    return pieces


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-") + "…"


def _camel(text: str) -> str:
    return "".join(word[:1].upper() + word[1:] for word in _WORD.findall(text))


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


def _hashtags(
    context: GenerationContext, pillar: dict[str, str] | None, source: list[str], count: int
) -> list[str]:
    candidates: list[str] = []
    ordered = ([pillar] if pillar else []) + [p for p in context.pillars if p is not pillar]
    candidates.extend(_camel(p.get("name", "")) for p in ordered)
    frequencies = Counter(word for sentence in source for word in _words(sentence))
    candidates.extend(_camel(word) for word, _ in frequencies.most_common())
    tags: list[str] = []
    seen: set[str] = set()
    for candidate in candidates:
        if candidate and candidate.lower() not in seen and len(candidate) <= 40:
            seen.add(candidate.lower())
            tags.append(f"#{candidate}")
        if len(tags) == count:
            break
    return tags


def compose(context: GenerationContext) -> GeneratedPost:
    """The whole post, synchronously (call through `OfflineProvider.generate`)."""
    lower, upper = LENGTH_BANDS.get(context.length, LENGTH_BANDS["medium"])
    upper = min(upper, LINKEDIN_MAX_CHARS)
    profile = context.profile
    sentences = _sentences(context.source_text) or [context.source_text.strip() or "…"]
    source_words = {w for s in sentences for w in _words(s)}
    pillar = best_pillar(context.pillars, source_words)
    boost = set(
        _words(" ".join([*(p.get("name", "") for p in context.pillars), *context.knowledge]))
    )
    scored = _score(sentences, boost)
    ranked = sorted(scored, key=lambda s: (-s.score, s.index))

    emoji_mode = str(profile.get("emoji", "none"))
    emoji = _EMOJI.get(emoji_mode, [])
    tags = _hashtags(context, pillar, sentences, int(profile.get("hashtagCount", 3)))
    tag_line = " ".join(tags)
    hook_sentence = ranked[0]
    hook = _truncate(hook_sentence.text, HOOK_MAX_CHARS - (len(emoji[0]) + 1 if emoji else 0))
    if emoji:
        hook = f"{emoji[0]} {hook}"

    reserve = len(hook) + (len(tag_line) + 2 if tag_line else 0)
    budget = upper - reserve
    chosen: list[_Sentence] = []
    used = 0
    for sentence in ranked[1:]:
        cost = len(sentence.text) + 2
        if used + cost > budget:
            if used + reserve >= lower:
                break
            continue
        chosen.append(sentence)
        used += cost
    if not chosen and len(ranked) > 1 and budget > 40:
        chosen = [_Sentence(ranked[1].index, _truncate(ranked[1].text, budget - 2), 0.0)]
    chosen.sort(key=lambda s: s.index)

    paragraphs: list[str] = []
    for start in range(0, len(chosen), 2):
        paragraph = " ".join(s.text for s in chosen[start : start + 2])
        if emoji_mode == "heavy":
            paragraph = f"{emoji[(start // 2 + 1) % len(emoji)]} {paragraph}"
        paragraphs.append(paragraph)
    blocks = [hook, *paragraphs, *([tag_line] if tag_line else [])]
    content = "\n\n".join(blocks)
    if len(content) > upper:
        content = _truncate(content, upper)
    title = _truncate(hook_sentence.text, TITLE_MAX_CHARS)
    return GeneratedPost(title=title, content=content, usage=Usage())


class OfflineProvider:
    name = "offline"
    model: str | None = None
    is_ai = False

    async def generate(
        self, context: GenerationContext, progress: ProgressCallback
    ) -> GeneratedPost:
        await progress(0.5, "Drafting hook")
        post = await asyncio.to_thread(compose, context)
        await progress(0.7, "Generating post")
        return post

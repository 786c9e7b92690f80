"""Vocabulary shared by the generators: content words of a text and the best-matching pillar.

The offline generator scores sentences with it; the AI prompt frames the post by the same pillar,
so both providers agree on what a source is "about".
"""

from __future__ import annotations

import re
from collections.abc import Iterable

WORD = re.compile(r"[^\W\d_][\w'’-]*", re.UNICODE)
STOPWORDS = frozenset(
    [
        "the",
        "and",
        "for",
        "are",
        "but",
        "not",
        "you",
        "your",
        "with",
        "this",
        "that",
        "from",
        "have",
        "has",
        "had",
        "was",
        "were",
        "will",
        "would",
        "can",
        "could",
        "should",
        "our",
        "their",
        "they",
        "them",
        "then",
        "than",
        "there",
        "here",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "how",
        "all",
        "any",
        "each",
        "more",
        "most",
        "other",
        "some",
        "such",
        "only",
        "own",
        "same",
        "into",
        "over",
        "also",
        "just",
        "about",
        "very",
        "der",
        "die",
        "das",
        "und",
        "ist",
        "nicht",
        "mit",
        "von",
        "den",
        "dem",
        "ein",
        "eine",
        "les",
        "des",
        "une",
        "est",
        "pour",
        "dans",
        "que",
        "qui",
    ]
)


def words(text: str) -> list[str]:
    """Lower-cased content words (3+ letters, no stopwords), in order."""
    return [w.lower() for w in WORD.findall(text) if len(w) >= 3 and w.lower() not in STOPWORDS]


def best_pillar(pillars: Iterable[dict[str, str]], source_words: set[str]) -> dict[str, str] | None:
    """The pillar sharing most words with the source (the first on ties; None without pillars)."""

    def overlap(pillar: dict[str, str]) -> int:
        return len(
            source_words & set(words(f"{pillar.get('name', '')} {pillar.get('description', '')}"))
        )

    return max(pillars, key=overlap, default=None)

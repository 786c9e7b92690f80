"""Vocabulary shared by the generators: content words of a text and the best-matching pillar.

The offline generator scores sentences with it; the AI prompt frames the post by the same pillar,
so both providers agree on what a source is "about".
"""

from __future__ import annotations

import re
from collections.abc import Iterable

WORD = re.compile(r"[^\W\d_][\w'’-]*", re.UNICODE)
# Function words of the languages we meet most (en, de, fr, es, it, pt, nl): never "content".
_STOPWORDS = """
    the and for are but not you your with this that from have has had was were will would can
    could should our their they them then than there here what when where which who why how all
    any each more most other some such only own same into over also just about very been being
    does did doing done its it's we're i'm let's these those many much make makes made need
    needs like get gets got one two three every after before while because through between
    under again further once both few nor too yet still even ever never always often really
    well back out off down upon per via onto it’s i’m
    der die das und ist nicht mit von den dem ein eine einen einem einer eines sich auch auf
    aus bei bis durch für gegen ohne um oder aber wenn dass wie wir ihr sie sind war waren wird
    werden wurde haben hat hatte noch nur schon sehr mehr kann können muss müssen soll sollen
    zum zur vom im am ins beim dies diese dieser dieses jede jeder jedes man uns unser unsere
    les des une est pour dans que qui sur par avec pas plus sont ont aux ces cette ses son
    leur leurs nous vous ils elles mais donc car comme tout tous toutes être avoir fait faire
    été était sans sous entre aussi très peu bien encore alors ainsi
    los las del una unos unas por para con sin sobre entre como pero más muy este esta estos
    estas ese esa eso son fue ser está están hay todo todos también nuestro nuestra
    che per con non una uno gli della delle degli dei nel nella sono anche come più questo
    questa quello quella essere hanno
    uma umas uns com não mais muito seu sua seus suas ele ela eles elas isso isto esse essa
    het een van voor niet met zijn maar ook als dat wat wij jullie worden naar
"""
STOPWORDS = frozenset(_STOPWORDS.split())
_CJK_PARTICLES = re.compile(r"[\u3040-\u309f]+")
_ALNUM_RUN = re.compile(r"[^\W_]+", re.UNICODE)
_SPACELESS = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


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


def salient_terms(text: str) -> list[str]:
    """Hashtag-worthy terms of a text, best first: frequent content words (4+ letters, or 2+ in
    scripts written without spaces), no stopwords, no numbers; on ties the longer (more
    noun-like) word, then the first seen. Deterministic; each term is letters/digits only."""
    counts: dict[str, int] = {}
    first: dict[str, int] = {}
    spelled: dict[str, str] = {}
    for token in WORD.findall(text):
        pieces = [token]
        if _SPACELESS.search(token):
            # Japanese/Chinese run on without spaces: hiragana (particles, endings) separates terms.
            pieces = [p for p in _CJK_PARTICLES.split(token) if p]
        for piece in pieces:
            for term in _ALNUM_RUN.findall(piece):
                key = term.casefold()
                short = 2 if _SPACELESS.search(term) else 4
                if len(term) < short or len(term) > 30 or key in STOPWORDS or key.isdigit():
                    continue
                if key not in counts:
                    first[key] = len(first)
                    spelled[key] = term
                counts[key] = counts.get(key, 0) + 1
    ranked = sorted(counts, key=lambda k: (-counts[k], -min(len(k), 8), first[k]))
    return [spelled[key] for key in ranked]

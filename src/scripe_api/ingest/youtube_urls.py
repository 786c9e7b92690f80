"""YouTube video URLs (INGEST.md §3): the video id a URL names, checked by the API when a
`youtube` knowledge document is submitted (no network, no transcript library: the API process
loads neither; `ingest.youtube` fetches the transcript in the worker)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{11}")
_YOUTUBE_HOSTS = frozenset({"youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com"})
_NOCOOKIE_HOSTS = frozenset({"youtube-nocookie.com", "www.youtube-nocookie.com"})
_SHORT_HOSTS = frozenset({"youtu.be", "www.youtu.be"})
# Path forms that carry the id as their second segment, per host family.
_YOUTUBE_PATH_FORMS = frozenset({"shorts", "embed", "live"})
_NOCOOKIE_PATH_FORMS = frozenset({"embed"})
_SUPPORTED_FORMS = (
    "youtube.com/watch?v=ID, youtu.be/ID, youtube.com/shorts/ID, youtube.com/embed/ID, "
    "youtube.com/live/ID or youtube-nocookie.com/embed/ID"
)


def video_id(url: str) -> str:
    """The 11-character id of the video a YouTube URL points at; `ValueError` for anything else.

    A URL pasted without its scheme (`youtu.be/ID`) is read as https.
    """
    text = url.strip()
    if "://" not in text:
        text = f"https://{text}"
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
    except ValueError as exc:  # e.g. an unbalanced IPv6 bracket
        raise ValueError(f"Not a valid URL: {url!r}.") from exc
    if parts.scheme.lower() not in {"http", "https"}:
        raise ValueError(f"A YouTube URL must use http or https, not {parts.scheme!r}.")
    segments = [segment for segment in parts.path.split("/") if segment]
    candidate = _candidate_id(host, segments, parts.query)
    if candidate is None:
        raise ValueError(f"Not a YouTube video URL: {url!r}; expected {_SUPPORTED_FORMS}.")
    if not VIDEO_ID.fullmatch(candidate):
        raise ValueError(
            f"{candidate!r} is not a YouTube video id (11 characters: letters, digits, - or _)."
        )
    return candidate


def _candidate_id(host: str, segments: list[str], query: str) -> str | None:
    """The id-bearing part of a recognised URL form, not yet validated; None if no form fits."""
    if host in _SHORT_HOSTS:
        return segments[0] if len(segments) == 1 else None
    if host in _YOUTUBE_HOSTS and segments == ["watch"]:
        values = parse_qs(query).get("v")
        return values[0] if values else None
    forms = (
        _YOUTUBE_PATH_FORMS
        if host in _YOUTUBE_HOSTS
        else _NOCOOKIE_PATH_FORMS
        if host in _NOCOOKIE_HOSTS
        else frozenset[str]()
    )
    if len(segments) == 2 and segments[0] in forms:
        return segments[1]
    return None

"""YouTube knowledge (INGEST.md §3): the video id out of a URL, the transcript as plain text.

`video_id` runs in the API, where its `ValueError` becomes a 422; `fetch_transcript` runs in the
worker and fails with `JobFailure("transcript_unavailable", …)`: permanent when the video has no
transcript we can read, transient when YouTube or the network is the problem (the job is retried).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any
from xml.etree.ElementTree import ParseError

import requests
from youtube_transcript_api import (
    AgeRestricted,
    CouldNotRetrieveTranscript,
    FailedToCreateConsentCookie,
    InvalidVideoId,
    NoTranscriptFound,
    PoTokenRequired,
    RequestBlocked,
    Transcript,
    TranscriptList,
    TranscriptsDisabled,
    VideoUnavailable,
    VideoUnplayable,
    YouTubeDataUnparsable,
    YouTubeRequestFailed,
    YouTubeTranscriptApi,
)

from scripe_api.ingest.youtube_urls import VIDEO_ID, video_id
from scripe_api.jobs.errors import JobFailure

ERROR_CODE = "transcript_unavailable"

# Besides any 5xx, the statuses worth another attempt later: a request timeout, throttling.
_TRANSIENT_HTTP_STATUSES = frozenset({408, 429})


async def fetch_transcript(
    video: str,
    *,
    languages: Sequence[str] = ("en",),
    timeout_seconds: float = 20.0,
    http_client: requests.Session | None = None,
) -> str:
    """The transcript of `video` (an id or any URL `video_id` accepts) as plain text.

    Picks the first of `languages` that has a transcript (a manual one before a generated one),
    else any manually created transcript, else any generated one. The library is blocking, so it
    runs in a thread; `timeout_seconds` bounds the whole fetch, and each request too when we own
    the session. A caller's `http_client` is used as is and left open.
    """
    try:
        the_id = video if VIDEO_ID.fullmatch(video) else video_id(video)
    except ValueError as exc:
        raise JobFailure(ERROR_CODE, str(exc), transient=False) from exc
    try:
        return await asyncio.wait_for(
            asyncio.to_thread(
                _fetch_transcript_blocking, the_id, tuple(languages), timeout_seconds, http_client
            ),
            timeout=timeout_seconds,
        )
    except TimeoutError as exc:
        message = f"Fetching the transcript of video {the_id} took over {timeout_seconds:g} s."
        raise JobFailure(ERROR_CODE, message, transient=True) from exc
    except (CouldNotRetrieveTranscript, requests.RequestException, ParseError) as exc:
        raise _failure(the_id, exc) from exc


def _fetch_transcript_blocking(
    the_id: str,
    languages: tuple[str, ...],
    timeout_seconds: float,
    http_client: requests.Session | None,
) -> str:
    # YouTubeTranscriptApi is not thread-safe: one instance per call, built in its thread.
    session = http_client if http_client is not None else _BoundedSession(timeout_seconds)
    try:
        transcripts = YouTubeTranscriptApi(http_client=session).list(the_id)
        fetched = _choose_transcript(the_id, transcripts, languages).fetch()
    finally:
        if http_client is None:
            session.close()
    # Snippets are caption lines: often broken mid-sentence, sometimes over two lines.
    text = " ".join(" ".join(snippet.text for snippet in fetched).split())
    if not text:
        raise JobFailure(ERROR_CODE, f"The transcript of video {the_id} is empty.", transient=False)
    return text


def _choose_transcript(
    the_id: str, transcripts: TranscriptList, languages: tuple[str, ...]
) -> Transcript:
    try:
        return transcripts.find_transcript(languages)
    except NoTranscriptFound:
        pass
    # sorted() is stable: manually created transcripts first, each group in YouTube's order.
    available = sorted(transcripts, key=lambda transcript: transcript.is_generated)
    if available:
        return available[0]
    raise JobFailure(ERROR_CODE, f"Video {the_id} has no transcript.", transient=False)


def _failure(the_id: str, exc: Exception) -> JobFailure:
    """The job's failure, with a short message of ours (the library's run to many lines)."""
    if isinstance(exc, RequestBlocked):  # IpBlocked included: a 429 or a captcha page
        message = "YouTube is throttling or blocking transcript requests from this server."
        return JobFailure(ERROR_CODE, message, transient=True)
    if isinstance(exc, YouTubeRequestFailed):
        status = _http_status(exc)
        transient = status is None or status >= 500 or status in _TRANSIENT_HTTP_STATUSES
        message = f"YouTube answered the transcript request with HTTP {status or 'error'}."
        return JobFailure(ERROR_CODE, message, transient=transient)
    if isinstance(exc, requests.RequestException):
        message = f"Could not reach YouTube for video {the_id}: {type(exc).__name__}."
        return JobFailure(ERROR_CODE, message, transient=True)
    if isinstance(exc, YouTubeDataUnparsable | FailedToCreateConsentCookie | ParseError):
        # An interstitial page or a truncated body, not a property of the video.
        message = f"YouTube sent a response for video {the_id} that could not be read."
        return JobFailure(ERROR_CODE, message, transient=True)
    return JobFailure(ERROR_CODE, _permanent_message(the_id, exc), transient=False)


def _permanent_message(the_id: str, exc: Exception) -> str:
    if isinstance(exc, TranscriptsDisabled):
        return f"Transcripts are disabled for video {the_id}."
    if isinstance(exc, VideoUnavailable | InvalidVideoId):
        return f"Video {the_id} is unavailable."
    if isinstance(exc, AgeRestricted):
        return f"Video {the_id} is age-restricted; its transcript needs a signed-in viewer."
    if isinstance(exc, VideoUnplayable):
        return f"Video {the_id} cannot be played: {exc.reason or 'no reason given'}."
    if isinstance(exc, PoTokenRequired):
        return f"The transcript of video {the_id} needs a proof-of-origin token."
    return f"No transcript is available for video {the_id}."


def _http_status(exc: YouTubeRequestFailed) -> int | None:
    # The library raises YouTubeRequestFailed inside `except HTTPError`, so the cause is there.
    context = exc.__context__
    if isinstance(context, requests.HTTPError) and context.response is not None:
        return context.response.status_code
    return None


class _BoundedSession(requests.Session):
    """A Session that gives every request a timeout (requests has no default, so a stalled
    connection would otherwise hold the worker's thread forever)."""

    def __init__(self, timeout_seconds: float) -> None:
        super().__init__()
        self._timeout_seconds = timeout_seconds

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout_seconds)
        return super().request(*args, **kwargs)

"""YouTube knowledge: the video id out of a URL, and the transcript fetched by
youtube-transcript-api's own request code against YouTube answers replayed from recordings.

tests/ingest/youtube_recordings/ holds YouTube's answers trimmed to what the library reads, cut
from the captures youtube-transcript-api 1.2 keeps for its own tests: the watch page (its ytcfg
block carries the INNERTUBE_API_KEY), the cookie-consent wall, the "unusual traffic" captcha page,
the innertube `player` answers (`captions`, `playabilityStatus`) and the timedtext XML of caption
tracks. The test's API key is a stand-in, not YouTube's.
"""

from __future__ import annotations

import io
import json
import re
import threading
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.models import PreparedRequest, Response
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from urllib3 import HTTPResponse

from scripe_api.ingest.youtube import fetch_transcript
from scripe_api.ingest.youtube_urls import video_id
from scripe_api.jobs.errors import JobFailure

RECORDINGS = Path(__file__).parent / "youtube_recordings"
API_KEY = "AIzaSyDRECORDEDxKEYxFORxTESTSxONLYx000"  # the one in watch.html
HTML = "text/html; charset=utf-8"
JSON = "application/json; charset=UTF-8"
XML = "text/xml; charset=UTF-8"

MANUAL = "GJLlxj_dtq8"  # manual en and de tracks, a generated en one
GENERATED = "Fx_N4GlwdEM"  # a generated de track only
DISABLED = "dsMFmonKDD4"


@dataclass(frozen=True)
class Recording:
    """One canned answer, served to every request whose method and whole URL match."""

    method: str
    url: str  # a regular expression
    body: str = ""  # a file in youtube_recordings/
    status: int = 200
    content_type: str = HTML
    cookie: str | None = None  # served only to requests carrying this cookie
    error: Exception | None = None  # raised instead of answering: the network failed
    hold: threading.Event | None = None  # the answer waits for it: a stalled connection


class ReplayAdapter(BaseAdapter):
    """A requests transport answering from recordings; a request nobody recorded fails the test."""

    def __init__(self, *recordings: Recording) -> None:
        super().__init__()
        self._recordings = recordings
        self.sent: list[PreparedRequest] = []

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float | None, float | None] | None = None,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        proxies: dict[str, str] | None = None,
    ) -> Response:
        self.sent.append(request)
        recording = self._match(request)
        if recording.hold is not None:
            recording.hold.wait(timeout=10)
        if recording.error is not None:
            raise recording.error
        body = (RECORDINGS / recording.body).read_bytes() if recording.body else b""
        headers = {"Content-Type": recording.content_type, "Content-Length": str(len(body))}
        reason = HTTPStatus(recording.status).phrase
        raw = HTTPResponse(
            io.BytesIO(body), headers, recording.status, reason=reason, preload_content=False
        )
        # What HTTPAdapter.build_response does with a urllib3 response off the wire.
        response = Response()
        response.status_code = recording.status
        response.headers = CaseInsensitiveDict(headers)
        response.encoding = get_encoding_from_headers(response.headers)
        response.raw = raw
        response.reason = reason
        response.url = str(request.url)
        response.request = request
        return response

    def close(self) -> None:
        pass

    def _match(self, request: PreparedRequest) -> Recording:
        cookies = request.headers.get("Cookie", "")
        for recording in self._recordings:
            if (
                recording.method == request.method
                and re.fullmatch(recording.url, str(request.url))
                and (recording.cookie is None or recording.cookie in cookies)
            ):
                return recording
        raise AssertionError(f"no recording for {request.method} {request.url}")

    @property
    def urls(self) -> list[str]:
        return [f"{request.method} {request.url}" for request in self.sent]


def replay_session(adapter: ReplayAdapter) -> requests.Session:
    session = requests.Session()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def watch_page(
    video: str, body: str = "watch.html", *, status: int = 200, cookie: str | None = None
) -> Recording:
    url = rf"https://www\.youtube\.com/watch\?v={video}"
    return Recording("GET", url, body, status=status, cookie=cookie)


def player(body: str, status: int = 200) -> Recording:
    url = rf"https://www\.youtube\.com/youtubei/v1/player\?key={API_KEY}"
    return Recording("POST", url, body, status=status, content_type=JSON)


def timedtext(video: str, track: str, body: str = "", status: int = 200) -> Recording:
    # `track` ends the caption track's baseUrl; the URL must end there (no "&fmt=srv3").
    url = rf"https://www\.youtube\.com/api/timedtext\?v={video}&.*&key=yt8&{track}"
    return Recording("GET", url, body, status=status, content_type=XML)


async def fetch_with(
    adapter: ReplayAdapter,
    video: str,
    languages: tuple[str, ...] = ("en",),
    timeout_seconds: float = 20.0,
) -> str:
    with replay_session(adapter) as session:
        return await fetch_transcript(
            video, languages=languages, timeout_seconds=timeout_seconds, http_client=session
        )


# --- transcripts ---------------------------------------------------------------------------


async def test_the_manual_english_transcript_comes_back_as_plain_text() -> None:
    adapter = ReplayAdapter(
        watch_page(MANUAL),
        player("player_manual_en.json"),
        timedtext(MANUAL, "lang=en", "timedtext_manual_en.xml"),
    )

    text = await fetch_with(adapter, MANUAL)

    # Caption lines joined, line breaks inside a caption and empty captions gone, the
    # double-escaped entities of timedtext XML read.
    assert text == (
        "Hey guys, this is Dave. This is the Surface Go, Microsoft's smallest 2-in-1. "
        'It\'s "awesome" & cheap.'
    )
    watch, innertube, captions = adapter.sent
    assert watch.url == f"https://www.youtube.com/watch?v={MANUAL}"
    # The innertube call uses the key the library read from the watch page.
    assert innertube.url == f"https://www.youtube.com/youtubei/v1/player?key={API_KEY}"
    assert isinstance(innertube.body, bytes)
    assert json.loads(innertube.body)["videoId"] == MANUAL
    assert "fmt=srv3" not in str(captions.url)


async def test_the_first_requested_language_with_a_transcript_wins() -> None:
    adapter = ReplayAdapter(
        watch_page(MANUAL),
        player("player_manual_en.json"),
        timedtext(MANUAL, "lang=de", "timedtext_manual_de.xml"),
    )

    text = await fetch_with(adapter, MANUAL, languages=("fr", "de", "en"))

    assert text == "Hallo, hier ist Dave. Das ist das Surface Go."


async def test_without_the_requested_language_a_manual_transcript_beats_a_generated_one() -> None:
    adapter = ReplayAdapter(
        watch_page(MANUAL),
        player("player_manual_en.json"),
        timedtext(MANUAL, "lang=en", "timedtext_manual_en.xml"),
    )

    text = await fetch_with(adapter, MANUAL, languages=("ja",))

    assert text.startswith("Hey guys, this is Dave.")


async def test_without_the_requested_language_a_generated_transcript_is_used() -> None:
    adapter = ReplayAdapter(
        watch_page(GENERATED),
        player("player_generated_de.json"),
        timedtext(GENERATED, "kind=asr&lang=de", "timedtext_generated_de.xml"),
    )

    text = await fetch_with(adapter, GENERATED, languages=("en",))

    assert text == "hallo und herzlich willkommen heute schauen wir uns das surface go an [Musik]"


async def test_a_url_is_accepted_and_the_cookie_consent_wall_is_passed() -> None:
    adapter = ReplayAdapter(
        watch_page(MANUAL, cookie="CONSENT=YES+cb.20210328-17-p0.de+FX+119"),
        watch_page(MANUAL, "watch_consent.html"),
        player("player_manual_en.json"),
        timedtext(MANUAL, "lang=en", "timedtext_manual_en.xml"),
    )

    text = await fetch_with(adapter, f"https://youtu.be/{MANUAL}?si=shared")

    assert text.startswith("Hey guys, this is Dave.")
    assert [url.split("?")[0] for url in adapter.urls[:2]] == [
        "GET https://www.youtube.com/watch",
        "GET https://www.youtube.com/watch",
    ]


@pytest.mark.parametrize(
    ("video", "recordings", "message"),
    [
        pytest.param(
            DISABLED,
            [watch_page(DISABLED), player("player_transcripts_disabled.json")],
            "Transcripts are disabled",
            id="transcripts-disabled",
        ),
        pytest.param(
            MANUAL,
            [watch_page(MANUAL), player("player_video_unavailable.json")],
            "is unavailable",
            id="video-unavailable",
        ),
        pytest.param(
            MANUAL,
            [watch_page(MANUAL), player("player_age_restricted.json")],
            "age-restricted",
            id="age-restricted",
        ),
        pytest.param(
            MANUAL,
            [watch_page(MANUAL, status=404)],
            "HTTP 404",
            id="watch-page-not-found",
        ),
    ],
)
async def test_a_video_without_a_readable_transcript_fails_for_good(
    video: str, recordings: list[Recording], message: str
) -> None:
    with pytest.raises(JobFailure) as failure:
        await fetch_with(ReplayAdapter(*recordings), video)

    assert failure.value.code == "transcript_unavailable"
    assert failure.value.transient is False
    assert message in failure.value.message


THROTTLED = "throttling or blocking"


@pytest.mark.parametrize(
    ("recordings", "message"),
    [
        pytest.param(
            [watch_page(MANUAL, "watch_captcha.html", status=429)], THROTTLED, id="watch-429"
        ),
        pytest.param([watch_page(MANUAL, "watch_captcha.html")], THROTTLED, id="captcha-page"),
        pytest.param(
            [watch_page(MANUAL), player("player_bot_check.json")], THROTTLED, id="bot-check"
        ),
        pytest.param([watch_page(MANUAL), player("", status=503)], "HTTP 503", id="innertube-503"),
        pytest.param(
            [
                watch_page(MANUAL),
                player("player_manual_en.json"),
                timedtext(MANUAL, "lang=en", status=429),
            ],
            THROTTLED,
            id="timedtext-429",
        ),
        pytest.param(
            # What YouTube serves for a track it wants a proof-of-origin token for.
            [watch_page(MANUAL), player("player_manual_en.json"), timedtext(MANUAL, "lang=en")],
            "could not be read",
            id="timedtext-empty-body",
        ),
        pytest.param(
            [
                Recording(
                    "GET",
                    r"https://www\.youtube\.com/watch\?v=.*",
                    error=requests.ConnectionError("Connection reset by peer"),
                )
            ],
            "Could not reach YouTube",
            id="connection-reset",
        ),
    ],
)
async def test_throttling_and_network_failures_are_retried(
    recordings: list[Recording], message: str
) -> None:
    with pytest.raises(JobFailure) as failure:
        await fetch_with(ReplayAdapter(*recordings), MANUAL)

    assert failure.value.code == "transcript_unavailable"
    assert failure.value.transient is True
    assert message in failure.value.message


async def test_a_stalled_fetch_times_out_and_is_retried() -> None:
    release = threading.Event()
    stalled = Recording(
        "GET",
        r"https://www\.youtube\.com/watch\?v=.*",
        error=requests.ConnectionError("released after the test"),
        hold=release,
    )
    try:
        with pytest.raises(JobFailure) as failure:
            await fetch_with(ReplayAdapter(stalled), MANUAL, timeout_seconds=0.2)
    finally:
        release.set()

    assert failure.value.transient is True
    assert "took over 0.2 s" in failure.value.message


async def test_something_that_is_no_youtube_video_fails_without_a_request() -> None:
    adapter = ReplayAdapter()

    with pytest.raises(JobFailure) as failure:
        await fetch_with(adapter, "https://vimeo.com/76979871")

    assert failure.value.transient is False
    assert adapter.sent == []


# --- video ids -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=1",
        "https://youtube.com/watch?feature=share&v=dQw4w9WgXcQ",
        "http://m.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://music.youtube.com/watch?v=dQw4w9WgXcQ&list=RDAMVMdQw4w9WgXcQ",
        "https://youtu.be/dQw4w9WgXcQ",
        "https://youtu.be/dQw4w9WgXcQ?si=Abc123&t=42",
        "https://www.youtube.com/shorts/dQw4w9WgXcQ",
        "https://www.youtube.com/embed/dQw4w9WgXcQ?start=10",
        "https://www.youtube.com/live/dQw4w9WgXcQ?feature=share",
        "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ",
        "youtu.be/dQw4w9WgXcQ",
        "  HTTPS://WWW.YouTube.com/watch?v=dQw4w9WgXcQ  ",
    ],
)
def test_video_id_reads_every_supported_url_form(url: str) -> None:
    assert video_id(url) == "dQw4w9WgXcQ"


def test_video_ids_keep_their_case_dashes_and_underscores() -> None:
    assert video_id("https://youtu.be/a-B_c-D_e-F") == "a-B_c-D_e-F"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://vimeo.com/76979871", "Not a YouTube video URL"),
        ("https://www.youtube.com.evil.example/watch?v=dQw4w9WgXcQ", "Not a YouTube video URL"),
        ("https://notyoutube.com/watch?v=dQw4w9WgXcQ", "Not a YouTube video URL"),
        ("https://www.youtube.com/watch", "Not a YouTube video URL"),
        ("https://www.youtube.com/watch?list=PLFgquLnL59alCl_2TQvOiD5Vgm1hCaGSI", "Not a YouTube"),
        ("https://www.youtube.com/channel/UCVYamHliCI9rw1tHR1xbkfw", "Not a YouTube video URL"),
        ("https://youtu.be/", "Not a YouTube video URL"),
        ("https://youtu.be/dQw4w9WgXcQ/extra", "Not a YouTube video URL"),
        ("https://www.youtube-nocookie.com/shorts/dQw4w9WgXcQ", "Not a YouTube video URL"),
        ("dQw4w9WgXcQ", "Not a YouTube video URL"),
        ("", "Not a YouTube video URL"),
        ("ftp://youtu.be/dQw4w9WgXcQ", "http or https"),
        ("https://[::1/watch?v=dQw4w9WgXcQ", "Not a valid URL"),
        ("https://www.youtube.com/watch?v=dQw4w9", "not a YouTube video id"),
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQX", "not a YouTube video id"),
        ("https://www.youtube.com/shorts/dQw4w9WgX!Q", "not a YouTube video id"),
    ],
)
def test_video_id_refuses_anything_else_with_a_reason(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        video_id(url)

"""Text extraction from real files in a limited child process: what a source or knowledge job
gets out of a document, and how it fails on a hostile one."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from scripe_api.ingest.extract import DOCX, HTML, MARKDOWN, PDF, PLAIN_TEXT, extract_bytes
from scripe_api.ingest.extract import extract_file as extract_file_under_limits
from scripe_api.jobs.errors import JobFailure
from tests.assertions import eventually
from tests.ingest.fixtures_documents import (
    ARTICLE,
    HTML_PAGE,
    MIB,
    docx_with_paragraphs_and_table,
    encrypted_pdf,
    flate_operators,
    flate_zeros,
    pdf_with_pages,
    write_pdf,
    write_zip_bomb_docx,
)

TIMEOUT_SECONDS = 10.0
MEMORY_BYTES = 512 * MIB
# The parent reads at most the text; a bomb expanded in this process would add hundreds of MiB.
PARENT_GROWTH_ALLOWED = 64 * MIB


@pytest.fixture(autouse=True)
def settled_jobs() -> None:
    """Extraction touches no database: nothing to settle, and no Postgres to start."""


async def extract_file(
    path: Path,
    content_type: str,
    *,
    timeout_seconds: float = TIMEOUT_SECONDS,
    memory_bytes: int = MEMORY_BYTES,
    max_chars: int = 100_000,
) -> str:
    return await extract_file_under_limits(
        path,
        content_type,
        timeout_seconds=timeout_seconds,
        memory_bytes=memory_bytes,
        max_chars=max_chars,
    )


async def unsupported(
    path: Path,
    content_type: str,
    *,
    timeout_seconds: float = TIMEOUT_SECONDS,
    memory_bytes: int = MEMORY_BYTES,
) -> str:
    """The message of the permanent unsupported_content failure extracting `path` ends with."""
    with pytest.raises(JobFailure) as failure:
        await extract_file(
            path, content_type, timeout_seconds=timeout_seconds, memory_bytes=memory_bytes
        )
    assert failure.value.code == "unsupported_content"
    assert failure.value.transient is False
    return failure.value.message


def status_bytes(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"{field} missing from /proc/self/status")


def reset_peak_rss() -> int:
    """Start a new peak resident size (VmHWM) for this process; the resident size now."""
    Path("/proc/self/clear_refs").write_text("5")
    return status_bytes("VmRSS")


def extraction_children() -> set[int]:
    """Ids of this process's live extraction children."""
    pids: set[int] = set()
    for children in Path("/proc/self/task").glob("*/children"):
        for pid in children.read_text().split():
            cmdline = Path(f"/proc/{pid}/cmdline")
            if cmdline.exists() and b"scripe_api.ingest.extract" in cmdline.read_bytes():
                pids.add(int(pid))
    return pids


async def live_extraction_children() -> set[int]:
    return extraction_children()


def is_alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


async def test_pdf_pages_become_paragraphs(tmp_path: Path) -> None:
    pdf = write(tmp_path / "a.pdf", pdf_with_pages("First page (intro)", "", "Second page"))

    assert await extract_file(pdf, PDF) == "First page (intro)\n\nSecond page"


async def test_pdf_behind_a_password_is_unsupported(tmp_path: Path) -> None:
    data = encrypted_pdf(pdf_with_pages("Secret"), user_password="open", owner_password="own")
    pdf = write(tmp_path / "locked.pdf", data)

    assert "password" in await unsupported(pdf, PDF)


async def test_pdf_restricted_by_an_owner_password_only_is_read(tmp_path: Path) -> None:
    data = encrypted_pdf(pdf_with_pages("Readable"), user_password="", owner_password="own")
    pdf = write(tmp_path / "restricted.pdf", data)

    assert await extract_file(pdf, PDF) == "Readable"


async def test_pdf_of_blank_pages_has_no_text(tmp_path: Path) -> None:
    pdf = write(tmp_path / "blank.pdf", pdf_with_pages("", ""))

    assert "No text could be extracted" in await unsupported(pdf, PDF)


async def test_pdf_bomb_fails_fast_without_growing_the_parent(tmp_path: Path) -> None:
    pdf = tmp_path / "bomb.pdf"
    with pdf.open("wb") as out:
        write_pdf(out, [flate_zeros(4096)])  # 4 GiB of zeros in about 4 MB
    rss_before = reset_peak_rss()
    started = time.monotonic()

    message = await unsupported(pdf, PDF)

    assert "bomb" in message
    assert time.monotonic() - started < TIMEOUT_SECONDS
    assert status_bytes("VmHWM") - rss_before < PARENT_GROWTH_ALLOWED


async def test_pdf_expanding_past_the_memory_limit_is_unsupported(tmp_path: Path) -> None:
    # 60 MiB: under pypdf's own 75 MB limit, over what a 96 MiB interpreter has left.
    pdf = tmp_path / "large.pdf"
    with pdf.open("wb") as out:
        write_pdf(out, [flate_zeros(60)])
    rss_before = reset_peak_rss()

    message = await unsupported(pdf, PDF, memory_bytes=96 * MIB)

    assert "more than the 96 MiB of memory allowed" in message
    assert status_bytes("VmHWM") - rss_before < PARENT_GROWTH_ALLOWED


async def test_slow_pdf_is_stopped_at_the_timeout(tmp_path: Path) -> None:
    pdf = tmp_path / "slow.pdf"
    with pdf.open("wb") as out:
        write_pdf(out, [flate_operators(2_000_000)])
    started = time.monotonic()

    message = await unsupported(pdf, PDF, timeout_seconds=1)

    assert message == "Extracting the text took longer than the 1 s allowed."
    assert time.monotonic() - started < 3
    assert extraction_children() == set()


async def test_cancelled_extraction_leaves_no_child_behind(tmp_path: Path) -> None:
    pdf = tmp_path / "slow.pdf"
    with pdf.open("wb") as out:
        write_pdf(out, [flate_operators(2_000_000)])
    extraction = asyncio.create_task(extract_file(pdf, PDF))
    children = await eventually(live_extraction_children, bool, within=TIMEOUT_SECONDS)

    extraction.cancel()
    with pytest.raises(asyncio.CancelledError):
        await extraction

    assert not any(is_alive(pid) for pid in children)


async def test_docx_paragraphs_and_table_rows_in_document_order(tmp_path: Path) -> None:
    document = write(tmp_path / "report.docx", docx_with_paragraphs_and_table())

    assert await extract_file(document, DOCX) == (
        "Quarterly report\n\n"
        "Revenue grew in every region.\n\n"
        "Region | Q1 | Q2\n\n"
        "North | Closed for audit\n\n"
        "Outlook is stable."
    )


async def test_docx_zip_bomb_is_refused_before_parsing(tmp_path: Path) -> None:
    document = tmp_path / "bomb.docx"
    write_zip_bomb_docx(document, mebibytes=1024)
    rss_before = reset_peak_rss()
    started = time.monotonic()

    message = await unsupported(document, DOCX)

    assert "zip bomb" in message
    assert time.monotonic() - started < TIMEOUT_SECONDS
    assert status_bytes("VmHWM") - rss_before < PARENT_GROWTH_ALLOWED


async def test_docx_part_with_an_absurd_ratio_is_refused_under_the_size_cap(
    tmp_path: Path,
) -> None:
    document = tmp_path / "dense.docx"
    write_zip_bomb_docx(document, mebibytes=16)

    assert "zip bomb" in await unsupported(document, DOCX)


async def test_html_keeps_the_article_and_drops_the_boilerplate(tmp_path: Path) -> None:
    page = write(tmp_path / "page.html", HTML_PAGE.encode())

    text = await extract_file(page, HTML)

    assert all(paragraph in text for paragraph in ARTICLE)
    assert "Subscribe to our newsletter" not in text
    assert "All rights reserved" not in text
    assert "Privacy policy" not in text


async def test_html_without_an_article_keeps_the_page_text(tmp_path: Path) -> None:
    page = write(tmp_path / "short.html", b"<html><body><div>Opening hours: 9 to 5</div></body>")

    assert await extract_file(page, HTML) == "Opening hours: 9 to 5"


async def test_markdown_is_kept_as_written(tmp_path: Path) -> None:
    notes = write(tmp_path / "notes.md", b"# Plan\n\n- **ship** the bridge\n- open the market\n")

    assert (
        await extract_file(notes, MARKDOWN) == "# Plan\n\n- **ship** the bridge\n- open the market"
    )


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-32"])
async def test_byte_order_mark_sets_the_encoding_and_is_dropped(
    tmp_path: Path, encoding: str
) -> None:
    text = write(tmp_path / "bom.txt", "Crème brûlée für 2 €".encode(encoding))

    assert await extract_file(text, PLAIN_TEXT) == "Crème brûlée für 2 €"


async def test_legacy_encoding_is_detected(tmp_path: Path) -> None:
    sentence = "Le café est très bon et la crème brûlée aussi, délicieuse."
    text = write(tmp_path / "latin1.txt", sentence.encode("latin-1"))

    assert await extract_file(text, PLAIN_TEXT) == sentence


async def test_binary_declared_as_text_is_unsupported(tmp_path: Path) -> None:
    binary = write(tmp_path / "image.txt", bytes(range(256)) * 64)

    assert "not text" in await unsupported(binary, PLAIN_TEXT)


@pytest.mark.parametrize("content_type", [PDF, DOCX, PLAIN_TEXT, MARKDOWN, HTML])
async def test_empty_file_is_unsupported(tmp_path: Path, content_type: str) -> None:
    empty = write(tmp_path / "empty", b"")

    await unsupported(empty, content_type)


async def test_unknown_content_type_is_unsupported_and_names_the_supported_ones(
    tmp_path: Path,
) -> None:
    image = write(tmp_path / "photo.png", b"\x89PNG\r\n\x1a\n")

    message = await unsupported(image, "image/png")

    assert "'image/png'" in message
    assert "application/pdf" in message
    assert "text/markdown" in message


async def test_damaged_document_is_unsupported(tmp_path: Path) -> None:
    damaged = write(tmp_path / "damaged.pdf", pdf_with_pages("Lost")[:200])

    assert "damaged" in await unsupported(damaged, PDF)


async def test_whitespace_is_normalised_and_text_truncated(tmp_path: Path) -> None:
    raw = "  Title \r\n\r\n\r\n\r\nBody\t\ttext\x00 here  \n" + "word " * 1000
    text = write(tmp_path / "messy.txt", raw.encode())

    extracted = await extract_file(text, "text/plain; charset=utf-8", max_chars=40)

    assert extracted == "Title\n\nBody text here\nword word word wor"


async def test_missing_file_is_the_callers_error_not_the_documents(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        await extract_file(tmp_path / "gone.pdf", PDF)


def test_small_inputs_can_be_extracted_in_process() -> None:
    assert extract_bytes(pdf_with_pages("Inline"), PDF, 100) == "Inline"
    with pytest.raises(JobFailure, match="damaged"):
        extract_bytes(b"%PDF-1.7 nothing else", PDF, 100)

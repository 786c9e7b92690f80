"""Plain text out of uploaded and fetched files (INGEST.md §2–3): PDF, DOCX, text, Markdown, HTML.

The parsers are the attack surface: a small PDF or DOCX can expand to gigabytes, loop for minutes
or crash a C extension. `extract_file` therefore runs `extract_bytes` in a fresh interpreter
(`python -m scripe_api.ingest.extract`) that caps its own address space (RLIMIT_AS) and CPU time
before it reads the document from stdin, kills it at a wall-clock deadline, and reads no more of
its stdout than `max_chars` characters can take. Whatever is wrong with the document ends as a
permanent `unsupported_content` JobFailure, never as a crash or a bloated worker.
"""

from __future__ import annotations

import asyncio
import codecs
import io
import itertools
import logging
import math
import os
import re
import resource
import sys
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import charset_normalizer

from scripe_api.jobs.errors import JobFailure

logger = logging.getLogger(__name__)

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PLAIN_TEXT = "text/plain"
MARKDOWN = "text/markdown"
HTML = "text/html"

PDF_MAX_PAGES = 2000
DOCX_MAX_MEMBERS = 10_000
DOCX_MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
# Real DOCX parts (XML, media) compress 2–30:1; only a bomb packs megabytes at more than 100:1.
DOCX_MAX_RATIO = 100
DOCX_RATIO_CHECKED_FROM_BYTES = 4 * 1024 * 1024
# Below this the interpreter and the parsers cannot even start: a configuration error.
MIN_MEMORY_BYTES = 64 * 1024 * 1024

_CHILD_MODULE = "scripe_api.ingest.extract"
# 1 is an uncaught exception and 2 a usage error, both Python's own.
_EXIT_UNSUPPORTED = 3
_EXIT_OUT_OF_MEMORY = 4
# A text prefix this many bytes per wanted character covers any encoding (UTF-8 and UTF-32 take
# at most 4) and leaves room for whitespace that normalisation collapses.
_TEXT_BYTES_PER_CHAR = 8
_STDERR_KEPT_BYTES = 8192

_NO_TEXT = (
    "No text could be extracted: the document is empty, or its pages are images "
    "(scanned documents are not read)."
)
# Characters that must not reach Postgres (NUL) or an encoder (lone surrogates); \t \n \r stay.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_INLINE_SPACE = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def _unsupported(message: str) -> JobFailure:
    return JobFailure("unsupported_content", message, transient=False)


def normalise_whitespace(text: str) -> str:
    """One space between words, no space at line ends, at most one blank line between paragraphs;
    control characters dropped."""
    text = _CONTROL.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = (_INLINE_SPACE.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _collect(blocks: Iterable[str], max_chars: int) -> str:
    """Normalised non-empty blocks joined by blank lines, reading no block past `max_chars`."""
    kept: list[str] = []
    size = 0
    for block in blocks:
        text = normalise_whitespace(block)
        if text:
            kept.append(text)
            size += len(text) + 2
            if size >= max_chars:
                break
    return "\n\n".join(kept)[:max_chars].rstrip()


def _pdf_blocks(data: bytes, max_chars: int) -> Iterator[str]:
    from pypdf import PasswordType, PdfReader
    from pypdf.errors import LimitReachedError

    try:
        reader = PdfReader(io.BytesIO(data))
        # Owner-password PDFs (printing or copying restricted) open with the empty user password
        # in every viewer; only a user password makes the text unreadable.
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise _unsupported("The PDF is password-protected; upload a copy without a password.")
        for page in itertools.islice(reader.pages, PDF_MAX_PAGES):
            yield page.extract_text()
    except LimitReachedError as error:
        raise _unsupported(
            "The PDF expands to more data than allowed (a decompression bomb?)."
        ) from error


def _check_docx_archive(data: bytes) -> None:
    """Refuse a zip bomb from its central directory, before anything is decompressed.

    The declared sizes can be trusted as bounds: `zipfile` stops reading a member at its declared
    size (and fails its CRC check), so a member that lies cannot expand past them.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = archive.infolist()
    if len(members) > DOCX_MAX_MEMBERS:
        raise _unsupported(f"The DOCX holds more than {DOCX_MAX_MEMBERS} files.")
    declared = sum(member.file_size for member in members)
    is_bomb = declared > DOCX_MAX_UNCOMPRESSED_BYTES or any(
        member.file_size > DOCX_RATIO_CHECKED_FROM_BYTES
        and member.file_size > DOCX_MAX_RATIO * max(member.compress_size, 1)
        for member in members
    )
    if is_bomb:
        raise _unsupported(
            f"The DOCX expands to {declared:,} bytes from {len(data):,}, beyond what is "
            "allowed (a zip bomb?)."
        )


def _docx_blocks(data: bytes, max_chars: int) -> Iterator[str]:
    import docx

    _check_docx_archive(data)
    yield from _docx_container_blocks(docx.Document(io.BytesIO(data)))


def _docx_container_blocks(container: Any) -> Iterator[str]:
    """Paragraphs, and table rows as their cells joined by " | ", in document order."""
    from docx.table import Table

    for block in container.iter_inner_content():
        if not isinstance(block, Table):
            yield block.text
            continue
        # A merged cell comes back once per grid column it spans and once per row below it.
        seen: set[Any] = set()
        for row in block.rows:
            cells: list[str] = []
            for cell in row.cells:
                if cell._tc not in seen:
                    seen.add(cell._tc)
                    cells.append(" ".join(_docx_container_blocks(cell)))
            yield " | ".join(cell for cell in cells if cell.strip())


_BOMS = (
    # UTF-32-LE's BOM starts with UTF-16-LE's: longest first.
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def _text_blocks(data: bytes, max_chars: int) -> Iterator[str]:
    yield _decode_text(data[: _text_prefix_bytes(max_chars)])


def _decode_text(data: bytes) -> str:
    """A BOM's encoding, else UTF-8, else charset-normalizer's best guess.

    The incremental decoders (final=False) drop a last character cut in half by the prefix.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return codecs.getincrementaldecoder(encoding)("replace").decode(data[len(bom) :])
    try:
        return codecs.getincrementaldecoder("utf-8")().decode(data)
    except UnicodeDecodeError:
        matches = charset_normalizer.from_bytes(data)
    best = matches.best()
    if best is None:
        raise _unsupported("The file is not text in any encoding we recognise.")
    # Short texts score alike in several code pages (French in cp1250 and cp1252): like browsers,
    # take Windows-1252 when it is among the best.
    score = (best.chaos, best.coherence)
    tied = (match for match in matches if (match.chaos, match.coherence) == score)
    return str(next((match for match in tied if "cp1252" in match.could_be_from_charset), best))


def _text_prefix_bytes(max_chars: int) -> int:
    return max_chars * _TEXT_BYTES_PER_CHAR + len(codecs.BOM_UTF32_LE)


def _html_blocks(data: bytes, max_chars: int) -> Iterator[str]:
    import trafilatura

    text = trafilatura.extract(data, include_comments=False, include_tables=True)
    # A page without an article (too short, a list of links) still has text worth keeping.
    yield text or trafilatura.html2txt(data)


_Extractor = Callable[[bytes, int], Iterable[str]]
_EXTRACTORS: dict[str, tuple[str, _Extractor]] = {
    PDF: ("PDF", _pdf_blocks),
    DOCX: ("DOCX", _docx_blocks),
    PLAIN_TEXT: ("text file", _text_blocks),
    MARKDOWN: ("Markdown file", _text_blocks),
    HTML: ("HTML page", _html_blocks),
}
SUPPORTED_CONTENT_TYPES = frozenset(_EXTRACTORS)


def _extractor_for(content_type: str) -> tuple[str, str, _Extractor]:
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type not in _EXTRACTORS:
        raise _unsupported(
            f"Text cannot be extracted from {content_type!r}; supported types: "
            f"{', '.join(sorted(_EXTRACTORS))}."
        )
    label, extractor = _EXTRACTORS[media_type]
    return media_type, label, extractor


def extract_bytes(data: bytes, content_type: str, max_chars: int) -> str:
    """The document's text, whitespace normalised, at most `max_chars` characters, in this process.

    Raises `JobFailure("unsupported_content")` for an unknown type, an encrypted, damaged or
    empty document, a bomb refused up front, or no text. A `MemoryError` propagates: only a child
    under its own limit (`extract_file`) can tell a bomb from a busy process.
    """
    _, label, extractor = _extractor_for(content_type)
    try:
        text = _collect(extractor(data, max_chars), max_chars)
    except (JobFailure, MemoryError):
        raise
    except Exception as error:
        # Parsers fed hostile bytes raise anything at all; it is the document that is at fault.
        raise _unsupported(f"The {label} is damaged or is not a valid {label}.") from error
    if not text:
        raise _unsupported(_NO_TEXT)
    return text


async def extract_file(
    path: Path, content_type: str, *, timeout_seconds: float, memory_bytes: int, max_chars: int
) -> str:
    """`extract_bytes` on the file at `path`, in a child process limited to `memory_bytes` of
    address space and killed after `timeout_seconds`.

    Raises `JobFailure("unsupported_content")` as `extract_bytes` does, and when the child runs out
    of time or memory or dies; `OSError` when `path` cannot be opened; `ValueError` for limits
    too small to be meant.
    """
    if timeout_seconds <= 0 or max_chars < 1 or memory_bytes < MIN_MEMORY_BYTES:
        raise ValueError(
            "extract_file needs timeout_seconds > 0, max_chars >= 1 and "
            f"memory_bytes >= {MIN_MEMORY_BYTES}"
        )
    media_type, _, _ = _extractor_for(content_type)
    process = await _start_child(path, media_type, max_chars, memory_bytes, timeout_seconds)
    try:
        async with asyncio.timeout(timeout_seconds):
            output, errors = await _read_child(process, max_chars)
            returncode = await process.wait()
    except TimeoutError:
        raise _unsupported(
            f"Extracting the text took longer than the {timeout_seconds:g} s allowed."
        ) from None
    finally:
        # Also on cancellation: a parser left running would outlive the job.
        if process.returncode is None:
            process.kill()
            await process.wait()
    if returncode == 0:
        text = output.decode("utf-8", errors="replace")[:max_chars]
        if text:
            return text
        raise _unsupported(_NO_TEXT)
    raise _child_failure(returncode, output, errors, timeout_seconds, memory_bytes)


async def _start_child(
    path: Path, media_type: str, max_chars: int, memory_bytes: int, timeout_seconds: float
) -> asyncio.subprocess.Process:
    """The child, reading the document as its stdin; its CPU limit is a second over the wall
    clock's, which normally ends it first."""
    document = os.open(path, os.O_RDONLY)
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            _CHILD_MODULE,
            media_type,
            str(max_chars),
            str(memory_bytes),
            str(math.ceil(timeout_seconds) + 1),
            stdin=document,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    finally:
        os.close(document)


async def _read_child(process: asyncio.subprocess.Process, max_chars: int) -> tuple[bytes, bytes]:
    """Its stdout, at most what `max_chars` characters (or a short reason) take in UTF-8, which
    is all the child ever writes; and the end of its stderr."""
    assert process.stdout is not None
    assert process.stderr is not None
    return await asyncio.gather(
        _read_head(process.stdout, max(max_chars * 4, 4096)),
        _read_tail(process.stderr, _STDERR_KEPT_BYTES),
    )


def _child_failure(
    returncode: int, output: bytes, errors: bytes, timeout_seconds: float, memory_bytes: int
) -> JobFailure:
    if returncode == _EXIT_UNSUPPORTED:
        return _unsupported(output.decode("utf-8", errors="replace"))
    if returncode == _EXIT_OUT_OF_MEMORY or b"MemoryError" in errors:
        return _unsupported(
            f"Extracting the text needed more than the {memory_bytes // 2**20} MiB of memory "
            "allowed (a decompression bomb?)."
        )
    if returncode < 0:
        # SIGXCPU/SIGKILL from RLIMIT_CPU, or the kernel's OOM killer.
        return _unsupported(
            f"Extracting the text was stopped (signal {-returncode}): it needed more than the "
            f"{timeout_seconds:g} s or {memory_bytes // 2**20} MiB allowed."
        )
    logger.warning(
        "text extraction failed (exit %s): %s",
        returncode,
        errors.decode("utf-8", errors="replace"),
    )
    return _unsupported("The document could not be processed: its text extractor failed.")


async def _read_head(stream: asyncio.StreamReader, limit: int) -> bytes:
    """The first `limit` bytes; the rest is read and dropped so the child never blocks."""
    kept = bytearray()
    while chunk := await stream.read(65536):
        kept += chunk[: limit - len(kept)]
    return bytes(kept)


async def _read_tail(stream: asyncio.StreamReader, limit: int) -> bytes:
    """The last `limit` bytes (where a traceback ends); the rest is read and dropped."""
    kept = b""
    while chunk := await stream.read(65536):
        kept = (kept + chunk)[-limit:]
    return kept


def _limit_resources(memory_bytes: int, cpu_seconds: int) -> None:
    """Cap this process: address space, CPU seconds (SIGXCPU, then SIGKILL a second later), and
    no core dump from either signal. A lower hard limit already in place is kept."""
    for limit, soft, hard in (
        (resource.RLIMIT_AS, memory_bytes, memory_bytes),
        (resource.RLIMIT_CPU, cpu_seconds, cpu_seconds + 1),
        (resource.RLIMIT_CORE, 0, 0),
    ):
        _, current_hard = resource.getrlimit(limit)
        if current_hard != resource.RLIM_INFINITY:
            soft, hard = min(soft, current_hard), min(hard, current_hard)
        resource.setrlimit(limit, (soft, hard))


def main(argv: Sequence[str]) -> int:
    """The child: limit itself, read the document from stdin, write its text to stdout.

    Exit 0 with the text, `_EXIT_UNSUPPORTED` with the reason, `_EXIT_OUT_OF_MEMORY`.
    """
    content_type, max_chars_arg, memory_bytes, cpu_seconds = argv
    _limit_resources(int(memory_bytes), int(cpu_seconds))
    max_chars = int(max_chars_arg)
    try:
        media_type, _, _ = _extractor_for(content_type)
        # Text needs only its prefix; the other formats must be parsed whole.
        is_text = media_type in (PLAIN_TEXT, MARKDOWN)
        data = sys.stdin.buffer.read(_text_prefix_bytes(max_chars) if is_text else -1)
        text = extract_bytes(data, media_type, max_chars)
    except MemoryError:
        return _EXIT_OUT_OF_MEMORY
    except JobFailure as failure:
        sys.stdout.buffer.write(failure.message.encode("utf-8", errors="replace"))
        return _EXIT_UNSUPPORTED
    sys.stdout.buffer.write(text.encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

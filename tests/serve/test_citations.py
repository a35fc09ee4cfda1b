from __future__ import annotations

from tunesmith.knowledge.search import Hit
from tunesmith.knowledge.store import StoredChunk
from tunesmith.serve.retrieval import SOURCES, Retrieved, citations, with_sources
from tunesmith.serve.schemas import ChatRequest


def _hit(doc: str, number: int, text: str) -> Hit:
    chunk = StoredChunk(1, doc, number, ("Refunds", "Window"), 10, 10 + len(text), text, ("staff",))
    return Hit(chunk, 0.5, 1, 1, 0.8)


REFUND = _hit("public/refunds.md", 1, "Customers may ask for a refund within 30 days of delivery.")
SHIP = _hit("public/shipping.md", 0, "Orders ship within 2 business days from the Leeds warehouse.")


def test_marked_sentences_cite_the_sources_they_name_with_their_span() -> None:
    answer = "You have 30 days [1]. Orders leave within two days [2][1]. Thanks!"
    found = citations(answer, [REFUND, SHIP])
    spans = [
        (
            a["url_citation"]["url"],
            answer[a["url_citation"]["start_index"] : a["url_citation"]["end_index"]],
        )
        for a in found
    ]
    assert spans == [
        ("kb://public/refunds.md#1", "You have 30 days [1]."),
        ("kb://public/shipping.md#0", "Orders leave within two days [2][1]."),
        ("kb://public/refunds.md#1", "Orders leave within two days [2][1]."),
    ]
    assert all(a["type"] == "url_citation" for a in found)
    assert found[0]["url_citation"]["title"] == "Refunds > Window"


def test_a_mark_beyond_the_sources_cites_nothing() -> None:
    assert citations("See [3].", [REFUND]) == []


def test_without_marks_a_sentence_is_cited_by_the_source_holding_its_words() -> None:
    answer = "Customers may ask for a refund within 30 days of delivery. I like turtles a lot."
    found = citations(answer, [SHIP, REFUND])
    assert len(found) == 1
    cited = found[0]["url_citation"]
    assert cited["url"] == "kb://public/refunds.md#1"
    assert answer[cited["start_index"] : cited["end_index"]].startswith("Customers may ask")


def test_sources_enter_the_system_turn_numbered_with_their_address() -> None:
    request = ChatRequest(
        model="m",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "q"}],
    )
    prompted = with_sources(request, [REFUND, SHIP])
    system = prompted.messages[0].text()
    assert system.startswith("Be brief.") and SOURCES in system
    assert "[1] Refunds > Window (kb://public/refunds.md#1)\nCustomers may ask" in system
    assert "[2] Refunds > Window (kb://public/shipping.md#0)" in system
    assert request.messages[0].text() == "Be brief."  # the caller's request is not changed
    alone = with_sources(ChatRequest(model="m", messages=[{"role": "user", "content": "q"}]), [])
    assert alone.messages[0].role == "system" and alone.messages[1].text() == "q"


def test_the_record_names_chunks_and_version_and_a_refusal() -> None:
    record = Retrieved([REFUND], 7).record()
    assert record == {
        "index_version": 7,
        "chunks": [{"id": "public/refunds.md#1", "score": 0.5, "span": [10, 68]}],
        "refused": False,
    }
    assert Retrieved([], 7).record()["refused"] is True

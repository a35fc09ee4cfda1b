from __future__ import annotations

from tunesmith.config import DedupConfig
from tunesmith.data.dedup import DedupIndex, Duplicate, deduplicate
from tunesmith.data.normalise import normalise_text
from tunesmith.data.records import Row

BODY = (
    "Since updating to version 4.2 the desktop app crashes whenever I open a report with more "
    "than ten charts. I already reinstalled it twice and cleared the cache, but nothing helped. "
    "Our whole finance team depends on these reports for the month end close next week."
)


def _row(i: int, body: str) -> Row:
    return Row("t.csv", i, f"t.csv:{i}", {"body": normalise_text(body)})


def test_exact_near_and_distinct_rows() -> None:
    index = DedupIndex(DedupConfig(), ["body"])
    rows = [
        _row(1, BODY),
        _row(2, BODY.upper().replace(" ", "\u00a0", 3)),  # cosmetic: exact after folding
        _row(3, BODY.replace("twice", "twice again")),  # one inserted word: near
        _row(4, "Please refund order 5512093381, the parcel never arrived at our warehouse."),
        _row(5, ""),
    ]
    out = list(deduplicate(rows, index))
    kinds = [o.kind if isinstance(o, Duplicate) else "kept" for o in out]
    assert kinds == ["kept", "exact", "near", "kept", "kept"]
    assert out[2].kept_id == "t.csv:1" and 0.85 <= out[2].similarity < 1
    members = index.clusters["t.csv:1"]
    assert [(m["row"], m["kind"]) for m in members] == [(2, "exact"), (3, "near")]
    assert index.kept["t.csv:1"] == {"id": "t.csv:1", "source": "t.csv", "row": 1}


def test_threshold_is_respected() -> None:
    edited = BODY.replace("finance team", "sales people").replace("twice", "three times")
    strict = DedupIndex(DedupConfig(near_threshold=0.99), ["body"])
    assert strict.check(_row(1, BODY)) is None
    assert strict.check(_row(2, edited)) is None
    loose = DedupIndex(DedupConfig(near_threshold=0.5), ["body"])
    loose.check(_row(1, BODY))
    assert loose.check(_row(2, edited)) is not None

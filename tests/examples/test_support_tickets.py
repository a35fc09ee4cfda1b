from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from tunesmith.examples.support_tickets import FIELDS, generate_tickets, write_example


def test_deterministic_and_spans_are_in_their_fields(tmp_path: Path) -> None:
    first = write_example(tmp_path / "a", n=400, seed=3)
    second = write_example(tmp_path / "b", n=400, seed=3)
    assert first.read_bytes() == second.read_bytes()
    tickets = generate_tickets(400, 3)
    for ticket in tickets:
        for span in ticket.pii + ticket.lookalikes:
            assert span.value in ticket.row[span.field]
        if ticket.dup_of is not None:
            assert ticket.dup_of < tickets.index(ticket)
    kinds = Counter(t.dup_kind for t in tickets)
    defects = Counter(t.defect for t in tickets)
    assert kinds["exact"] > 5 and kinds["near"] > 5
    assert all(defects[d] > 0 for d in ("mojibake", "empty", "short", "malformed"))


def test_malformed_rows_have_the_wrong_column_count(tmp_path: Path) -> None:
    path = write_example(tmp_path, n=300, seed=0)
    tickets = generate_tickets(300, 0)
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == FIELDS and len(rows) == 301
    bad = [i for i, row in enumerate(rows[1:]) if len(row) != len(FIELDS)]
    assert bad == [i for i, t in enumerate(tickets) if t.defect == "malformed"]

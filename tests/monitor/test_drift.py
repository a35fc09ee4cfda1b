"""Drift checks on real all-MiniLM-L6-v2 embeddings: a window where a new product line (the
Voltway e-bikes) appears is flagged, a fresh sample of the training distribution is not."""

from __future__ import annotations

import re
import socket
from collections import Counter

import numpy as np
import pytest

from tunesmith.examples.new_product import generate_product_line_tickets
from tunesmith.examples.support_tickets import FIELDS, GeneratedTicket, generate_tickets
from tunesmith.monitor.drift import DriftCheck, domain_classifier_test, label_shift, mmd_test

# bench/drift.py: at 80 tickets with 30 % of a new product the domain classifier's power is
# 0.97 (false alarms 0.07); at 40 it is about 0.7 (its AUC cannot exceed 0.5 + share / 2).
WINDOW, NEW = 80, 24


def _texts(tickets: list[GeneratedTicket]) -> list[str]:
    keep = [t for t in tickets if t.defect is None and t.dup_of is None]
    return [f"Subject: {t.row['subject']}\n\n{t.row['body']}" for t in keep]


@pytest.fixture(scope="module")
def vectors() -> dict[str, np.ndarray]:
    """Reference (training inputs), a fresh window and Voltway tickets, embedded once."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args}")

    # Module fixtures set up before the function-scoped no_network one: refuse here too.
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", refuse)
        mp.setattr(socket, "create_connection", refuse)
        from tunesmith.monitor.embed import embed

        reference = _texts(generate_tickets(450, seed=0))[: 4 * WINDOW]
        fresh = _texts(generate_tickets(120, seed=21))[:WINDOW]
        aurora = _texts(generate_product_line_tickets(NEW, seed=3))
        vecs = embed(reference + fresh + aurora)
    a, b = len(reference), len(reference) + len(fresh)
    assert vecs.shape == (b + NEW, 384) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    return {"reference": vecs[:a], "fresh": vecs[a:b], "aurora": vecs[b:]}


def test_a_new_product_line_is_flagged(vectors: dict[str, np.ndarray]) -> None:
    window = np.vstack([vectors["fresh"][: WINDOW - NEW], vectors["aurora"]])
    check, scores = domain_classifier_test(vectors["reference"], window)
    assert check.drifted and check.statistic > check.threshold, check
    assert check.p_value is not None and check.p_value < 0.01
    # The items that look least like the training inputs are the new product's.
    assert scores.shape == (WINDOW,) and np.all((scores >= 0) & (scores <= 1))
    top = np.argsort(-scores)[:NEW]
    assert np.sum(top >= WINDOW - NEW) >= NEW * 3 // 4
    mmd = mmd_test(vectors["reference"], window)
    assert mmd.drifted and mmd.p_value is not None and mmd.p_value < 0.01, mmd


def test_a_fresh_sample_of_the_training_distribution_is_quiet(
    vectors: dict[str, np.ndarray],
) -> None:
    check, scores = domain_classifier_test(vectors["reference"], vectors["fresh"])
    assert not check.drifted, check
    assert 0.35 < check.statistic < check.threshold < 0.65
    assert len(scores) == WINDOW
    mmd = mmd_test(vectors["reference"], vectors["fresh"])
    assert not mmd.drifted, mmd


def test_the_reference_is_subsampled_to_a_multiple_of_the_window(
    vectors: dict[str, np.ndarray],
) -> None:
    small = vectors["fresh"][:20]
    check, scores = domain_classifier_test(vectors["reference"], small, n_permutations=200)
    assert check.details["n_reference"] == 80 and len(scores) == 20
    again, _ = domain_classifier_test(vectors["reference"], small, n_permutations=200)
    assert again == check  # seeded: the same inputs give the same verdict
    assert mmd_test(vectors["reference"], small, n_permutations=200).details["n_reference"] == 80


def test_label_shift() -> None:
    reference = {"billing": 240, "technical": 260, "account": 180, "shipping": 170, "returns": 150}
    same = label_shift(reference, {k: v // 10 for k, v in reference.items()})
    assert not same.drifted and same.statistic < 0.05 and same.p_value is not None
    shifted = {"billing": 10, "technical": 12, "account": 8, "shipping": 9, "returns": 41}
    moved = label_shift(reference, shifted)
    assert moved.drifted and moved.p_value is not None and moved.p_value < 1e-6
    assert moved.statistic > same.statistic
    unseen = label_shift(reference, {"billing": 20, "e-bikes": 15})  # a label never trained on
    assert unseen.drifted and np.isfinite(unseen.statistic)
    assert unseen.details["labels"] == sorted({*reference, "e-bikes"})
    json = moved.to_json()
    assert json["name"] == "label_shift" and json["drifted"] is True
    assert DriftCheck(**json) == moved


def test_the_new_product_generator() -> None:
    tickets = generate_product_line_tickets(300, seed=4)
    assert tickets == generate_product_line_tickets(300, seed=4)
    assert tickets != generate_product_line_tickets(300, seed=5)
    ids = [t.row["ticket_id"] for t in tickets]
    assert len(set(ids)) == 300 and all(re.fullmatch(r"TCK-9\d{5}", i) for i in ids)
    base_ids = {t.row["ticket_id"] for t in generate_tickets(2000, seed=4)}
    assert not base_ids & set(ids)
    for t in tickets:
        assert list(t.row) == FIELDS and all(t.row[f] for f in FIELDS)
        assert t.row["queue"] == "returns" and t.defect is None and t.dup_of is None
        assert 40 <= len(t.row["body"].split()) <= 110
        assert re.search(r"Voltway|e-bike|recall", t.row["subject"] + t.row["body"])
        first = re.escape(t.row["customer_name"].split()[0])
        assert re.match(rf"(Hi|Hello|Dear) {first},\n\n.*recall", t.row["agent_reply"], re.S)
        for span in t.pii + t.lookalikes:
            assert span.value in t.row[span.field]
    subjects = Counter(re.sub(r"^(Re|Fwd|URGENT): ", "", t.row["subject"]) for t in tickets)
    assert len(subjects) >= 40  # templates x alternatives x slots: varied, not a handful

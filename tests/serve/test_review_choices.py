"""The pairwise choice queue over HTTP: `/v1/review/choices/...` with the reviewer role, claims
that never overlap, 409 for an item held or decided by someone else, no AI pick in any body."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from tests.review.test_choices import pair, write
from tests.store_rows import add_interaction
from tunesmith.config.workspace import Workspace
from tunesmith.examples.scaffold import create_workspace
from tunesmith.review import choices
from tunesmith.review import queue as review
from tunesmith.serve.app import create_app, load_state
from tunesmith.store import audit
from tunesmith.store.db import choice_items, review_items
from tunesmith.store.keys import create_key

from .server import set_config


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, bpe_model_dir: Path
) -> Iterator[dict[str, Any]]:
    root = create_workspace(tmp_path_factory.mktemp("choices") / "ws", "support-tickets", rows=20)
    set_config(root, base_model={"name": "tiny-bpe", "path": str(bpe_model_dir)})
    ws = Workspace(root)
    state = load_state(ws, ws.load_config())
    keys = {
        name: create_key(state.store, name, ["*"], "ci", roles=roles)[1]
        for name, roles in [("alice", ["reviewer"]), ("bob", ["reviewer"]), ("app", ["inference"])]
    }
    for name, models in [("router-rev", ["support-router"]), ("other-rev", ["other"])]:
        keys[name] = create_key(state.store, name, models, "ci", roles=["reviewer"])[1]
    keys["slow"] = create_key(state.store, "slow", ["*"], "ci", "1/hour", ["reviewer"])[1]
    keys["fast"] = create_key(state.store, "fast", ["*"], "ci", "2/s", ["reviewer"])[1]
    with TestClient(create_app(state)) as http:
        yield {"ws": ws, "state": state, "keys": keys, "http": http}


def fill(served: dict[str, Any], n: int) -> list[int]:
    """A fresh choice queue of `n` pairs; their ids, oldest first."""
    store = served["state"].store
    with store.begin() as conn:
        conn.execute(choice_items.delete())
    path = write(served["ws"].root / "pairs.jsonl", [json.dumps(pair(i)) for i in range(n)])
    assert choices.enqueue_pairs(store, path, "pairs.jsonl").counts["queued"] == n
    with store.connect() as conn:
        return list(
            conn.execute(sa.select(choice_items.c.id).order_by(choice_items.c.id)).scalars()
        )


def as_(served: dict[str, Any], name: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {served['keys'][name]}"} if name else {}


def test_choice_routes_need_the_reviewer_role(served: dict[str, Any]) -> None:
    (item,) = fill(served, 1)
    http = served["http"]
    assert http.get("/v1/review/choices/next").status_code == 401
    for response in (
        http.get("/v1/review/choices/next", headers=as_(served, "app")),
        http.post(
            f"/v1/review/choices/{item}/decision", json={"choice": "a"}, headers=as_(served, "app")
        ),
        http.post(f"/v1/review/choices/{item}/release", headers=as_(served, "app")),
    ):
        assert response.status_code == 403
        assert response.json()["error"]["type"] == "permission_error"
    assert choices.get_choice(served["state"].store, item).claimed_by is None


def test_reviewers_claim_decide_and_conflict(served: dict[str, Any]) -> None:
    first, second, third = fill(served, 3)
    http, alice, bob = served["http"], as_(served, "alice"), as_(served, "bob")

    got = http.get("/v1/review/choices/next", headers=alice)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["object"] == "review.choices.next" and body["reviewer"] == "alice"
    item = body["item"]
    assert item["id"] == first and "ai_pick" not in got.text  # the AI's pick stays hidden
    assert item["prompt"][-1]["role"] == "user" and item["answer_a"] and item["answer_b"]
    assert body["queue"]["claimed"] == 1 and body["queue"]["open"] == 3
    assert http.get("/v1/review/choices/next", headers=bob).json()["item"]["id"] == second
    assert http.get("/v1/review/choices/next", headers=alice).json()["item"]["id"] == first

    held = http.post(f"/v1/review/choices/{first}/decision", json={"choice": "a"}, headers=bob)
    assert held.status_code == 409 and held.json()["error"]["code"] == "conflict"
    assert "held by alice" in held.json()["error"]["message"]
    assert http.post(f"/v1/review/choices/{first}/release", headers=bob).json()["released"] is False

    for body, param in [
        ({"choice": "c"}, "choice"),
        ({}, "choice"),
        ({"choice": "a", "reviewer": "mallory"}, "reviewer"),
    ]:
        refused = http.post(f"/v1/review/choices/{first}/decision", json=body, headers=alice)
        assert refused.status_code == 400, (body, refused.text)
        assert refused.json()["error"]["param"] == param
    missing = http.post("/v1/review/choices/999999/decision", json={"choice": "a"}, headers=alice)
    assert missing.status_code == 404
    bad_skip = http.get("/v1/review/choices/next?skip=x", headers=alice)
    assert bad_skip.status_code == 400 and bad_skip.json()["error"]["param"] == "skip"

    made = http.post(
        f"/v1/review/choices/{first}/decision",
        json={"choice": "b", "note": "shorter"},
        headers=alice,
    )
    assert made.status_code == 200, made.text
    done = made.json()["item"]
    assert (done["status"], done["choice"], done["note"], done["decided_by"]) == (
        "done",
        "b",
        "shorter",
        "alice",
    )
    assert "ai_pick" not in made.text and made.json()["queue"]["b"] == 1
    again = http.post(f"/v1/review/choices/{first}/decision", json={"choice": "a"}, headers=bob)
    assert again.status_code == 409 and "already decided by alice" in again.text
    entry = audit.entries(served["state"].audit_log)[-1]
    assert (entry.action, entry.actor, entry.details["choice"]) == ("review.choice", "alice", "b")

    # a released item goes back to the queue; a skipped one is not offered to its skipper
    assert http.post(f"/v1/review/choices/{second}/release", headers=bob).json()["released"]
    assert http.get("/v1/review/choices/next", headers=alice).json()["item"]["id"] == second
    assert http.post(f"/v1/review/choices/{second}/release", headers=alice).json()["released"]
    skipped = http.get(f"/v1/review/choices/next?skip={second}", headers=alice).json()
    assert skipped["item"]["id"] == third


def test_a_reviewer_key_claims_and_decides_only_its_models_items(served: dict[str, Any]) -> None:
    """/v1/review/next and /v1/review/choices/next follow the key's model scope, as
    /v1/chat/completions does; another model's item is a 404, as if it did not exist."""
    store, http = served["state"].store, served["http"]
    with store.begin() as conn:
        conn.execute(review_items.delete())
    models = ["other@champion", "support-router@champion", "support-router/2"]
    for i, model in enumerate(models):
        add_interaction(store, f"scope-{i}", f"ticket {i}", "Queue: billing\n\nHi")
        review.enqueue(store, [review.Candidate(f"scope-{i}", model, ["low_confidence"], i)])
    router, other = as_(served, "router-rev"), as_(served, "other-rev")
    seen, open_ = [], []
    while (got := http.get("/v1/review/next", headers=router).json())["item"] is not None:
        seen.append(got["item"]["model"])
        open_.append(got["queue"]["open"])
        decided = http.post(
            f"/v1/review/{got['item']['id']}/decision", json={"decision": "accept"}, headers=router
        )
        assert decided.status_code == 200, decided.text
    assert seen == ["support-router@champion", "support-router/2"]
    assert open_ == [2, 1]  # its models' queue, not every model's (3 open at first)
    foreign = http.get("/v1/review/next", headers=other).json()["item"]
    assert foreign["model"] == "other@champion"
    for path, body in [("decision", {"decision": "reject"}), ("release", None)]:
        refused = http.post(f"/v1/review/{foreign['id']}/{path}", json=body, headers=router)
        assert refused.status_code == 404, refused.text
    assert review.get_item(store, foreign["id"]).claimed_by == "other-rev"

    ids = fill(served, 2)  # the pairs name support-router@champion
    assert http.get("/v1/review/choices/next", headers=other).json()["item"] is None
    for path, body in [("decision", {"choice": "a"}), ("release", None)]:
        refused = http.post(f"/v1/review/choices/{ids[0]}/{path}", json=body, headers=other)
        assert refused.status_code == 404, refused.text
    assert choices.get_choice(store, ids[0]).status == "open"
    got = http.get("/v1/review/choices/next", headers=router).json()
    assert got["item"]["id"] == ids[0] and got["queue"]["open"] == 2
    assert http.post(f"/v1/review/choices/{ids[0]}/release", headers=router).json()["released"]


def test_a_keys_rate_is_exact_over_http(served: dict[str, Any]) -> None:
    http = served["http"]
    slow = [http.get("/v1/review/choices/next", headers=as_(served, "slow")) for _ in range(3)]
    assert [r.status_code for r in slow] == [200, 429, 429]  # 1/hour: not 60 in the first minute
    assert 3500 < int(slow[1].headers["Retry-After"]) <= 3600
    assert "1/hour" in slow[1].json()["error"]["message"]
    fast = [http.get("/v1/review/choices/next", headers=as_(served, "fast")) for _ in range(5)]
    assert [r.status_code for r in fast] == [200, 200, 429, 429, 429]  # 2/s: not 120 at once

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

from tunesmith.examples.scaffold import create_workspace
from tunesmith.governance import audit
from tunesmith.monitor import choices
from tunesmith.serve.app import create_app, load_state
from tunesmith.serve.keys import create_key
from tunesmith.store.db import choice_items
from tunesmith.workspace import Workspace

from ..monitor.test_choices import pair, write
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

"""The review queue over HTTP: the `/review` page in a real headless Chromium, and the API."""

from __future__ import annotations

import json
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
import sqlalchemy as sa

from tests.store_rows import add_interaction
from tunesmith.config.workspace import Workspace
from tunesmith.examples.scaffold import create_workspace
from tunesmith.review import queue as review
from tunesmith.serve.app import create_app, load_state
from tunesmith.store.db import interactions, review_items
from tunesmith.store.keys import create_key

from .server import live_server, set_config

# CHROMIUM names another binary; a missing one fails the test (`make setup` installs it)
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SYSTEM = "Route the ticket to its queue, then reply."
# model and user text is shown as text, never parsed as markup
HOSTILE = "My card was charged twice <img src=x onerror=\"document.title='pwned'\"> help"
REVIEWERS = ("alice", "bob", "carol", "dave")


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, bpe_model_dir: Path
) -> Iterator[dict[str, Any]]:
    root = create_workspace(tmp_path_factory.mktemp("review") / "ws", "support-tickets", rows=20)
    set_config(root, base_model={"name": "tiny-bpe", "path": str(bpe_model_dir)})
    ws = Workspace(root)
    state = load_state(ws, ws.load_config())
    keys = {
        name: create_key(state.store, name, ["*"], "ci", roles=roles)[1]
        for name, roles in [(n, ["reviewer"]) for n in REVIEWERS] + [("app", ["inference"])]
    }
    with live_server(create_app(state)) as url:
        yield {"url": url, "keys": keys, "state": state}


def fill_queue(served: dict[str, Any], tickets: list[tuple[str, str, float]]) -> list[int]:
    """A fresh queue: one answered interaction per (user text, output, margin), each queued
    for low confidence with its margin as priority; the item ids, most doubtful first."""
    store = served["state"].store
    with store.begin() as conn:
        conn.execute(review_items.delete())
        conn.execute(interactions.delete())
    candidates = []
    for text, output, margin in tickets:
        interaction = f"chatcmpl-{uuid.uuid4().hex}"
        add_interaction(
            store,
            interaction,
            text,
            output,
            label=served["state"].probe.label(output),
            margin=margin,
        )
        candidates.append(
            review.Candidate(interaction, "support-router", ["low_confidence"], margin)
        )
    assert review.enqueue(store, candidates) == len(tickets)
    with store.connect() as conn:
        return list(
            conn.execute(
                sa.select(review_items.c.id).order_by(review_items.c.priority, review_items.c.id)
            ).scalars()
        )


def row(served: dict[str, Any], item_id: int) -> Any:
    with served["state"].store.connect() as conn:
        return conn.execute(sa.select(review_items).where(review_items.c.id == item_id)).one()


def http(served: dict[str, Any], key: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {served['keys'][key]}"} if key else {}
    return httpx.Client(base_url=served["url"], headers=headers, timeout=30)


def launch(pw: Any) -> Any:
    """Headless Debian Chromium that can reach nothing but loopback."""
    if not Path(CHROMIUM).is_file():
        # an install failure, not a reason to skip: the page would go untested in CI
        pytest.fail(
            f"no Chromium at {CHROMIUM}: the /review page tests need Debian's `chromium` "
            "(`make setup` installs it: apt-get install chromium)",
            pytrace=False,
        )
    return pw.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            # any name but loopback fails to resolve: the page can only reach this server
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        ],
    )


THREE = [
    ("I was billed twice for March", "Queue: billing\n\nSorry about that.", 0.05),
    ("The app crashes on login", "Queue: account\n\nLet me check.", 0.1),
    ("Where is my parcel?", "Queue: shipping\n\nIt is on its way.", 0.2),
]


def test_reviewer_logs_in_corrects_an_item_and_it_leaves_the_queue(
    served: dict[str, Any],
) -> None:
    from playwright.sync_api import Route, expect, sync_playwright

    first, second, third = fill_queue(
        served,
        [
            (HOSTILE, "Queue: billing\n\nWe will refund the second charge.", 0.05),
            ("The app crashes on login", "Queue: account\n\nLet me check.", 0.2),
            ("Where is my parcel?", "Queue: shipping\n\nIt is on its way.", 0.3),
        ],
    )
    labels = served["state"].probe.task.labels
    outside: list[str] = []
    problems: list[str] = []

    def loopback_only(route: Route) -> None:
        if urlparse(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            context = browser.new_context()
            context.set_default_timeout(10_000)
            context.route("**/*", loopback_only)
            page = context.new_page()
            page.on("pageerror", lambda err: problems.append(f"page error: {err}"))
            page.on(
                "console",
                lambda msg: (
                    problems.append(msg.text)
                    if msg.type == "error" and "Content Security Policy" in msg.text
                    else None
                ),
            )
            page.goto(served["url"] + "/review")
            expect(page.get_by_test_id("login")).to_be_visible()
            page.get_by_test_id("login-key").fill(served["keys"]["alice"])
            page.keyboard.press("Enter")

            # the most doubtful item, claimed by alice, shown as text
            expect(page.get_by_test_id("item-id")).to_have_text(str(first))
            expect(page.get_by_test_id("whoami")).to_have_text("reviewer: alice")
            expect(page.get_by_test_id("user-input")).to_contain_text(HOSTILE)
            assert page.locator("#conversation img").count() == 0 and page.title() != "pwned"
            system = page.get_by_test_id("system-prompt")
            assert system.get_attribute("open") is None
            expect(system.get_by_text(SYSTEM)).to_be_hidden()
            expect(page.get_by_test_id("output")).to_have_text(
                "Queue: billing\n\nWe will refund the second charge."
            )
            expect(page.get_by_test_id("item-label")).to_have_text("billing")
            expect(page.get_by_test_id("item-margin")).to_have_text("0.050")
            expect(page.get_by_test_id("item-reasons")).to_have_text("low_confidence")
            expect(page.get_by_test_id("count-claimed")).to_have_text("1")
            expect(page.get_by_test_id("count-waiting")).to_have_text("2")
            assert row(served, first).claimed_by == "alice"

            page.keyboard.press("?")
            expect(page.get_by_test_id("help")).to_be_visible()
            page.keyboard.press("Escape")
            expect(page.get_by_test_id("help")).to_be_hidden()

            # correct: the answer opens prefilled, `2` puts the second label on its first line
            page.keyboard.press("c")
            editor = page.get_by_test_id("correction")
            expect(editor).to_be_visible()
            expect(editor).to_have_value("Queue: billing\n\nWe will refund the second charge.")
            page.keyboard.press("2")
            corrected = f"Queue: {labels[1]}\n\nWe will refund the second charge."
            expect(editor).to_have_value(corrected)
            page.keyboard.press("Control+Enter")

            # it left the queue: the next item is shown, and the store says who and when
            expect(page.get_by_test_id("item-id")).to_have_text(str(second))
            expect(page.get_by_test_id("notice")).to_contain_text(f"Item {first}: correct")
            expect(page.get_by_test_id("count-correct")).to_have_text("1")
            done = row(served, first)
            assert (done.status, done.decision, done.decided_by) == ("done", "correct", "alice")
            assert done.decided_at and done.correction == corrected
            assert done.correction.startswith(f"Queue: {labels[1]}")
            assert done.claimed_by is None and row(served, second).claimed_by == "alice"

            page.keyboard.press("a")
            expect(page.get_by_test_id("item-id")).to_have_text(str(third))
            expect(page.get_by_test_id("count-done")).to_have_text("2")

            # meanwhile alice's claim lapses and bob decides the item: her decision is refused
            # (409) where she can see it, and the page moves on
            review.release(served["state"].store, third, "alice")
            with http(served, "bob") as bob:
                taken = bob.post(f"/v1/review/{third}/decision", json={"decision": "accept"})
                assert taken.status_code == 200, taken.text
            page.keyboard.press("a")
            expect(page.get_by_test_id("error")).to_contain_text("409")
            expect(page.get_by_test_id("error")).to_contain_text("already decided by bob")
            expect(page.get_by_test_id("queue-empty")).to_be_visible()
            expect(page.get_by_test_id("item")).to_be_hidden()
            expect(page.get_by_test_id("count-done")).to_have_text("3")
        finally:
            browser.close()

    assert row(served, second).decision == "accept" and row(served, third).decided_by == "bob"
    assert outside == [] and problems == []
    entries = [json.loads(line) for line in served["state"].audit_log.read_text().splitlines()]
    decided = [e for e in entries if e["action"] == "review"]
    assert [(e["actor"], e["details"]["decision"]) for e in decided[-3:]] == [
        ("alice", "correct"),
        ("alice", "accept"),
        ("bob", "accept"),
    ]


def test_page_is_public_but_the_queue_needs_the_reviewer_role(served: dict[str, Any]) -> None:
    (item,) = fill_queue(served, THREE[:1])
    with http(served, None) as anonymous:
        page = anonymous.get("/review")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        policy = page.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src 'sha256-" in policy
        assert "connect-src 'self'" in policy and "http" not in page.text.split("<body>")[1]
        assert anonymous.get("/v1/review/next").status_code == 401
    with http(served, "app") as app:
        for response in (
            app.get("/v1/review/next"),
            app.post(f"/v1/review/{item}/decision", json={"decision": "accept"}),
            app.post(f"/v1/review/{item}/release"),
            app.post("/v1/review/correction", json={"text": "", "label": "billing"}),
        ):
            assert response.status_code == 403
            assert response.json()["error"]["type"] == "permission_error"
            assert "reviewer" in response.json()["error"]["message"]
    assert row(served, item).claimed_by is None and row(served, item).status == "open"


@pytest.mark.parametrize(
    ("output", "reply"),
    [
        ("Queue: billing\n\nWe will refund the second charge.", ""),  # keep the reply
        ("Queue: billing\n\nWe will refund the second charge.", "We will call you back."),
        ("We will refund the second charge.", ""),  # an answer with no label line
        ("", ""),  # a label picked alone
    ],
)
def test_the_page_and_the_terminal_store_the_same_correction(
    served: dict[str, Any], tmp_path: Path, output: str, reply: str
) -> None:
    from tunesmith.review.terminal import Terminal, review_queue
    from tunesmith.store.actor import Actor

    on_page, in_terminal = fill_queue(served, [("ticket", output, 0.1), ("ticket", output, 0.2)])
    task = served["state"].probe.task
    label = task.labels[1]
    # the page: the editor opens on the answer (or the reply typed over it), `2` asks the
    # server for the label line, and the decision posts what the editor then holds
    with http(served, "alice") as alice:
        assert alice.get("/v1/review/next").json()["item"]["id"] == on_page
        labelled = alice.post(
            "/v1/review/correction", json={"text": reply or output, "label": label}
        )
        assert labelled.status_code == 200, labelled.text
        correction = labelled.json()["correction"]
        made = alice.post(
            f"/v1/review/{on_page}/decision", json={"decision": "correct", "correction": correction}
        )
        assert made.status_code == 200, made.text
        refused = alice.post("/v1/review/correction", json={"text": "", "label": "nonsense"})
        assert refused.status_code == 400 and refused.json()["error"]["param"] == "label"
    # the terminal: [c]orrect, label 2, the reply typed (or kept: empty)
    answers = iter(["c", "2", reply])

    def quiet(*_: object) -> None:
        pass

    terminal = Terminal(lambda question, default: next(answers, "q"), quiet, quiet, quiet)
    dana = Actor("user:dana", "os-user", "dana")
    store = served["state"].store
    review_queue(store, dana, task, 60, terminal, audit_log=tmp_path / "audit.jsonl")
    assert row(served, in_terminal).correction == row(served, on_page).correction
    assert row(served, on_page).correction.startswith(f"Queue: {label}")


def test_concurrent_reviewers_never_get_the_same_item(served: dict[str, Any]) -> None:
    ids = fill_queue(served, THREE)
    start = threading.Barrier(len(REVIEWERS))
    got: dict[str, Any] = {}

    def claim(name: str) -> None:
        with http(served, name) as client:
            start.wait()
            response = client.get("/v1/review/next")
            assert response.status_code == 200, response.text
            got[name] = response.json()

    threads = [threading.Thread(target=claim, args=(n,)) for n in REVIEWERS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = {n: b["item"]["id"] for n, b in got.items() if b["item"] is not None}
    assert sorted(claimed.values()) == sorted(ids) and len(got) == len(REVIEWERS)
    for name, item_id in claimed.items():
        assert row(served, item_id).claimed_by == name
    assert got["alice"]["task"]["labels"] == served["state"].probe.task.labels
    assert got["alice"]["task"]["answer_prefix"] == "Queue: "
    # asking again gives a reviewer the item they hold
    if "alice" in claimed:
        with http(served, "alice") as alice:
            assert alice.get("/v1/review/next").json()["item"]["id"] == claimed["alice"]
    queue = got["alice"]["queue"]
    assert queue["open"] == 3 and queue["done"] == 0


def test_decisions_are_checked_and_a_held_item_is_refused(served: dict[str, Any]) -> None:
    first, second, _ = fill_queue(served, THREE)
    with http(served, "alice") as alice, http(served, "bob") as bob:
        assert alice.get("/v1/review/next").json()["item"]["id"] == first
        held = bob.post(f"/v1/review/{first}/decision", json={"decision": "accept"})
        assert held.status_code == 409 and held.json()["error"]["code"] == "conflict"
        assert "held by alice" in held.json()["error"]["message"]
        assert bob.post(f"/v1/review/{first}/release").json()["released"] is False
        assert row(served, first).status == "open" and row(served, first).claimed_by == "alice"

        bad = [
            ({"decision": "correct", "correction": "Queue: nonsense"}, "correction"),
            ({"decision": "correct"}, "correction"),
            ({"decision": "accept", "correction": "Queue: billing"}, "correction"),
            ({"decision": "maybe"}, "decision"),
            ({"decision": "accept", "reviewer": "mallory"}, "reviewer"),
        ]
        for body, param in bad:
            refused = alice.post(f"/v1/review/{first}/decision", json=body)
            assert refused.status_code == 400, (body, refused.text)
            assert refused.json()["error"]["param"] == param
        missing = alice.post("/v1/review/999999/decision", json={"decision": "accept"})
        assert missing.status_code == 404

        made = alice.post(
            f"/v1/review/{first}/decision",
            json={"decision": "reject", "correction": "Queue: technical", "note": "not billing"},
        )
        assert made.status_code == 200, made.text
        item = made.json()["item"]
        assert (item["status"], item["decision"], item["decided_by"]) == ("done", "reject", "alice")
        assert item["correction"] == "Queue: technical" and item["note"] == "not billing"
        assert made.json()["queue"]["reject"] == 1
        again = bob.post(f"/v1/review/{first}/decision", json={"decision": "accept"})
        assert again.status_code == 409 and "already decided by alice" in again.text

        # a released item goes back to the queue for the next reviewer
        assert bob.get("/v1/review/next").json()["item"]["id"] == second
        assert bob.post(f"/v1/review/{second}/release").json()["released"] is True
        assert row(served, second).claimed_by is None
        assert alice.get("/v1/review/next").json()["item"]["id"] == second


def test_reviewer_picks_the_better_of_two_answers(served: dict[str, Any]) -> None:
    from playwright.sync_api import expect, sync_playwright

    from tunesmith.review import choices
    from tunesmith.store.db import choice_items

    store = served["state"].store
    with store.begin() as conn:
        conn.execute(choice_items.delete())
    hostile = {
        "prompt": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": HOSTILE}],
        "chosen": [{"role": "assistant", "content": "Queue: billing\n\nRefunded."}],
        "rejected": [{"role": "assistant", "content": "<b>Queue</b>: billing"}],
    }
    path = Path(served["state"].audit_log).parent / "choice-pairs.jsonl"
    second = {**hostile, "chosen": [{"role": "assistant", "content": "Queue: billing\n\nOK."}]}
    path.write_text(json.dumps(hostile) + "\n" + json.dumps(second) + "\n")
    assert choices.enqueue_pairs(store, path, "choice-pairs.jsonl").counts["queued"] == 2
    first = choices.claim_next(store, "probe", 1)
    choices.release(store, first.id, "probe")
    problems: list[str] = []

    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = browser.new_page()
            page.set_default_timeout(10_000)
            page.on("pageerror", lambda err: problems.append(f"page error: {err}"))
            page.on(
                "console",
                lambda msg: problems.append(msg.text) if msg.type == "error" else None,
            )
            page.goto(served["url"] + "/review")
            page.get_by_test_id("login-key").fill(served["keys"]["carol"])
            page.keyboard.press("Enter")
            expect(page.get_by_test_id("whoami")).to_have_text("reviewer: carol")
            page.get_by_test_id("view-choices").click()

            # prompt and both answers, as text, side by side
            expect(page.get_by_test_id("choice-id")).to_have_text(str(first.id))
            expect(page.get_by_test_id("choice-user-input")).to_contain_text(HOSTILE)
            expect(page.get_by_test_id("answer-a")).to_have_text(first.answer_a)
            expect(page.get_by_test_id("answer-b")).to_have_text(first.answer_b)
            assert page.locator("#choice img, #choice b").count() == 0
            assert page.title() != "pwned"
            expect(page.get_by_test_id("count-waiting")).to_have_text("1")

            page.keyboard.press("2")
            expect(page.get_by_test_id("notice")).to_contain_text(
                f"Choice {first.id}: answer B is better"
            )
            expect(page.get_by_test_id("choice-id")).not_to_have_text(str(first.id))
            expect(page.get_by_test_id("count-b")).to_have_text("1")
            page.get_by_test_id("pick-tie").click()
            expect(page.get_by_test_id("queue-empty")).to_be_visible()
            expect(page.get_by_test_id("count-tie")).to_have_text("1")
        finally:
            browser.close()

    decided = choices.decided_choices(store)
    assert [(i.choice, i.decided_by) for i in decided] == [("b", "carol"), ("tie", "carol")]
    assert problems == []

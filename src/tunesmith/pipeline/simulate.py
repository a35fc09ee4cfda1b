"""Simulated production for the main job: customers sending tickets, and a reviewer.

Both are labelled as simulations wherever they leave a trace: the customers are the example's
generator (fresh tickets, plus a segment about a product line the training data never saw),
and the reviewer answers from the generator's ground truth, not from judgement.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from tunesmith.config import ProjectConfig
from tunesmith.config.workspace import Workspace
from tunesmith.data.records import Row
from tunesmith.data.template import ChatTemplate
from tunesmith.examples.new_product import generate_product_line_tickets
from tunesmith.examples.support_tickets import generate_tickets
from tunesmith.models.labels import parse_label
from tunesmith.review import queue as review

SIMULATED_REVIEWER = "simulated-reviewer"
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Ticket:
    prompt: list[dict[str, str]]  # system + user, as the production app sends them
    truth: str  # the answer the generator knows is right (queue line + reply)
    drifted: bool


@dataclass(frozen=True)
class Sent:
    ticket: Ticket
    id: str  # the completion id = the stored interaction's id
    answer: str
    served_by: str  # the system_fingerprint: the run that answered


def traffic(config: ProjectConfig, normal: int, drifted: int, seed: int) -> list[Ticket]:
    """Fresh tickets (a seed the training data did not use) and new-product tickets, mixed."""
    template = ChatTemplate(config.data.template)
    fresh = [t for t in generate_tickets(normal * 2, seed) if t.defect is None and t.dup_of is None]
    rows = [(t, False) for t in fresh[:normal]]
    rows += [(t, True) for t in generate_product_line_tickets(drifted, seed)]
    random.Random(seed).shuffle(rows)
    out = []
    for number, (ticket, is_new) in enumerate(rows, start=1):
        messages = template.render(Row("simulated", number, ticket.row["ticket_id"], ticket.row))
        assert isinstance(messages, list), messages
        prompt = [m for m in messages if m["role"] != "assistant"]
        out.append(Ticket(prompt, messages[-1]["content"], is_new))
    return out


def send(
    url: str,
    key: str,
    model: str,
    tickets: list[Ticket],
    max_tokens: int,
    clients: int = 8,
    progress: Progress | None = None,
) -> list[Sent]:
    """Every ticket through the OpenAI API, `clients` at a time."""
    from openai import OpenAI

    client = OpenAI(base_url=url, api_key=key, max_retries=2, timeout=600)
    tick = progress or (lambda _: None)

    def one(ticket: Ticket) -> Sent:
        done = client.chat.completions.create(
            model=model, messages=ticket.prompt, max_tokens=max_tokens, temperature=0
        )
        tick(1)
        return Sent(
            ticket, done.id, done.choices[0].message.content or "", done.system_fingerprint or ""
        )

    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(one, tickets))


def trickle(
    url: str,
    key: str,
    model: str,
    tickets: list[Ticket],
    max_tokens: int,
    every_seconds: float,
    stop: threading.Event,
    sent: list[Sent],
) -> None:
    """One ticket every `every_seconds` until `stop` (or the tickets run out): production
    that keeps going while the loop retrains."""
    from openai import OpenAI

    client = OpenAI(base_url=url, api_key=key, max_retries=2, timeout=600)
    for ticket in tickets:
        if stop.wait(every_seconds):
            return
        done = client.chat.completions.create(
            model=model, messages=ticket.prompt, max_tokens=max_tokens, temperature=0
        )
        sent.append(
            Sent(
                ticket,
                done.id,
                done.choices[0].message.content or "",
                done.system_fingerprint or "",
            )
        )


def stored(ws: Workspace, ids: list[str]) -> int:
    """How many of the completion ids are in the state store's interactions."""
    import sqlalchemy as sa

    from tunesmith.store.db import interactions, open_store

    if not ids:
        return 0
    with open_store(ws.state_url()).connect() as conn:
        found = conn.execute(
            sa.select(sa.func.count()).where(interactions.c.id.in_(ids))
        ).scalar_one()
    return int(found)


def rate_wrong_answers(url: str, key: str, sent: list[Sent], config: ProjectConfig) -> int:
    """Some customers press thumbs-down on a misrouted answer (a third of them, seeded)."""
    from openai import OpenAI

    client = OpenAI(base_url=url, api_key=key, max_retries=2)
    labels, prefix = config.task.labels or [], config.task.answer_prefix
    rng, rated = random.Random(0), 0
    for item in sent:
        wrong = parse_label(item.answer, labels, prefix) != parse_label(
            item.ticket.truth, labels, prefix
        )
        if wrong and rng.random() < 1 / 3:
            client.post("/feedback", body={"id": item.id, "rating": "down"}, cast_to=dict[str, Any])
            rated += 1
    return rated


def review_queue(
    ws: Workspace, config: ProjectConfig, sent: list[Sent], progress: Progress | None = None
) -> dict[str, int]:
    """The simulated reviewer works through the queue, the random audit sample included:
    accepts a right label, corrects a wrong one with the generator's answer (`audit` counts
    the audit sample's items among them)."""
    from tunesmith.store import audit
    from tunesmith.store.db import open_store

    store = open_store(ws.state_url())
    truth = {s.id: s.ticket.truth for s in sent}
    task, tick = config.task, progress or (lambda _: None)
    labels = task.labels or []
    counts = {"accept": 0, "correct": 0, "unknown": 0, "audit": 0}
    lease = config.monitor.review_lease_seconds
    others: list[int] = []  # not simulated traffic: passed over, left for a person
    while (item := review.claim_next(store, SIMULATED_REVIEWER, lease, skip=others)) is not None:
        right = truth.get(item.interaction_id)
        if right is None:
            review.release(store, item.id, SIMULATED_REVIEWER)
            others.append(item.id)
            counts["unknown"] += 1
            continue
        same = parse_label(item.output, labels, task.answer_prefix) == parse_label(
            right, labels, task.answer_prefix
        )
        decision = "accept" if same else "correct"
        review.decide(
            store,
            item.id,
            SIMULATED_REVIEWER,
            decision,
            task=task,
            correction=None if same else right,
            note="simulated reviewer: answered from the example generator's ground truth",
            audit_log=audit.audit_path(ws.state_dir),
        )
        counts[decision] += 1
        counts["audit"] += review.AUDIT in item.reasons
        tick(1)
    return counts

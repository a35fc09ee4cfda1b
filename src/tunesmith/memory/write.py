"""An answered call into the user's memory: the turn as an episode, the facts found in it,
each masked before it is stored and embedded; a new value of a slot supersedes the old."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tunesmith.config.memory import MemoryConfig
from tunesmith.memory.facts import FoundFact, rule_facts, structured_facts
from tunesmith.memory.records import Scope, fact_text, to_blob
from tunesmith.store.clock import utc_timestamp
from tunesmith.store.db import memory_episodes, memory_facts

_EPISODE_CHARS = 2000  # of each side of a turn kept as an episode


@dataclass
class Written:
    """What one call added to memory."""

    episode: int | None = None
    facts: list[int] = field(default_factory=list)
    superseded: list[int] = field(default_factory=list)
    dropped_masked: int = 0  # facts whose value was personal data, kept out


class MemoryMasker:
    """The curate masker in memory's mode: text is stored masked; a fact whose value the
    masker changes is dropped unless the mode is pseudonym (then its pseudonym is kept)."""

    def __init__(self, masker: Any, mode: str) -> None:
        self.masker, self.mode = masker, mode

    def text(self, value: str) -> str:
        if not value:
            return value
        masked, _ = self.masker.mask({"text": value})
        return masked["text"]

    def fact(self, found: FoundFact) -> FoundFact | None:
        masked = self.text(found.value)
        if masked == found.value:
            return found
        if self.mode != "pseudonym":
            return None
        return FoundFact(found.slot, masked, found.confidence, found.method)


def episode_text(user: str, answer: str, calls: list[dict[str, Any]] | None) -> str:
    said = answer.strip()
    for call in calls or []:
        function = call.get("function", {})
        said += f" [called {function.get('name')}({function.get('arguments', '')})]"
    return f"user: {user.strip()[:_EPISODE_CHARS]}\nassistant: {said.strip()[:_EPISODE_CHARS]}"


def remember(
    engine: Engine,
    embedder: Any,
    masker: MemoryMasker,
    config: MemoryConfig,
    scope: Scope,
    interaction_id: str,
    model: str,
    user_text: str,
    answer: str,
    tool_calls: list[dict[str, Any]] | None = None,
) -> Written:
    """Store the turn and its facts under `scope` in one transaction."""
    written = Written()
    found = rule_facts(config.facts, user_text)
    if config.structured_facts:
        found += structured_facts(answer, tool_calls)
    kept: dict[tuple[str, str], FoundFact] = {}
    for fact in found:
        masked = masker.fact(fact)
        if masked is None:
            written.dropped_masked += 1
        else:
            kept.setdefault((masked.slot, masked.value), masked)
    facts = list(kept.values())
    episode = episode_text(
        masker.text(user_text), masker.text(answer), _masked_calls(masker, tool_calls)
    )
    vectors = embedder.encode([episode, *(fact_text(f.slot, f.value) for f in facts)])
    now = utc_timestamp(timespec="milliseconds")
    common = {"tenant": scope.tenant, "end_user": scope.user, "embedding_model": embedder.name}
    with engine.begin() as conn:
        written.episode = conn.execute(
            memory_episodes.insert().values(
                **common,
                interaction_id=interaction_id,
                model=model,
                created_at=now,
                text=episode,
                vector=to_blob(vectors[0]),
            )
        ).inserted_primary_key[0]
        for fact, vector in zip(facts, vectors[1:], strict=True):
            _put_fact(
                conn, config, scope, fact, to_blob(vector), interaction_id, now, common, written
            )
    return written


def _masked_calls(
    masker: MemoryMasker, calls: list[dict[str, Any]] | None
) -> list[dict[str, Any]] | None:
    if not calls:
        return calls
    return [
        {"function": {**c["function"], "arguments": masker.text(c["function"]["arguments"])}}
        for c in calls
    ]


def _put_fact(
    conn: sa.Connection,
    config: MemoryConfig,
    scope: Scope,
    fact: FoundFact,
    vector: bytes,
    interaction_id: str,
    now: str,
    common: dict[str, Any],
    written: Written,
) -> None:
    """Insert unless the slot already holds this value; supersede the slot's other values
    unless it is a multi-valued slot."""
    live = conn.execute(
        sa.select(memory_facts.c.id, memory_facts.c.value).where(
            memory_facts.c.tenant == scope.tenant,
            memory_facts.c.end_user == scope.user,
            memory_facts.c.slot == fact.slot,
            memory_facts.c.superseded_at.is_(None),
        )
    ).all()
    if any(row.value == fact.value for row in live):
        return
    new_id = conn.execute(
        memory_facts.insert().values(
            **common,
            slot=fact.slot,
            value=fact.value,
            confidence=fact.confidence,
            method=fact.method,
            source_interaction=interaction_id,
            created_at=now,
            vector=vector,
        )
    ).inserted_primary_key[0]
    written.facts.append(new_id)
    if fact.slot in config.multi_slots or not live:
        return
    old = [row.id for row in live]
    conn.execute(
        memory_facts.update()
        .where(memory_facts.c.id.in_(old))
        .values(superseded_at=now, superseded_by=new_id)
    )
    written.superseded += old

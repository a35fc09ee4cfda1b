"""The review queue over HTTP: the `/review` page and the JSON calls it makes.

The page holds no data and needs no key to load; every `/v1/review/...` call needs a key with
the `reviewer` role, and the key's name is who claims and who decides. A key sees, claims and
decides only the items of the models it is scoped to (an item of another model is a 404, as
if it did not exist). `/v1/review/correction` puts a picked label on the answer being
corrected, by the rule `tunesmith review` applies (`review/corrections.py`), so the page holds
no copy of it. `/v1/review/choices/...` is the pairwise queue (`review/choices.py`): the same
claims, leases, scopes and conflicts.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from tunesmith.review import choices
from tunesmith.review import queue as review
from tunesmith.review.choices import ChoiceError, ChoiceItem
from tunesmith.review.corrections import corrected_answer
from tunesmith.review.queue import ReviewError, ReviewItem
from tunesmith.serve.deps import ApiError, KeyDep, StateDep, require_role
from tunesmith.serve.state import ServeState
from tunesmith.store.clock import utc_timestamp
from tunesmith.store.keys import ApiKey

router = APIRouter()

PAGE = Path(__file__).parent / "static" / "review.html"


class DecisionRequest(BaseModel):
    """A reviewer's verdict on the item they hold."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["accept", "correct", "reject"] = Field(
        description="accept the answer, correct it, or reject it."
    )
    correction: str | None = Field(
        default=None,
        max_length=100_000,
        description="The corrected answer: required to correct, optional to reject.",
    )
    note: str | None = Field(default=None, max_length=10_000, description="A free-text note.")


class CorrectionRequest(BaseModel):
    """The answer a reviewer is correcting and the label they picked for it."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        default="", max_length=100_000, description="The answer as the reviewer has it now."
    )
    label: str = Field(max_length=1_000, description="The picked label: one of the task's.")


class ChoiceRequest(BaseModel):
    """A reviewer's pick between the two answers of the item they hold."""

    model_config = ConfigDict(extra="forbid")

    choice: Literal["a", "b", "tie"] = Field(
        description="a or b: that answer is the better one; tie: neither is."
    )
    note: str | None = Field(default=None, max_length=10_000, description="A free-text note.")


@cache
def _page() -> tuple[str, str]:
    """The page and its Content-Security-Policy: only its own inline script and style run
    (by hash), and it may talk to this server alone."""
    html = PAGE.read_text(encoding="utf-8")

    def hashes(tag: str) -> str:
        bodies = re.findall(rf"<{tag}>(.*?)</{tag}>", html, flags=re.DOTALL)
        return " ".join(
            f"'sha256-{base64.b64encode(hashlib.sha256(b.encode()).digest()).decode()}'"
            for b in bodies
        )

    policy = (
        "default-src 'none'; "
        f"script-src {hashes('script')}; style-src {hashes('style')}; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    return html, policy


@router.get("/review", include_in_schema=False)
def review_page() -> HTMLResponse:
    html, policy = _page()
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": policy,
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _task(state: ServeState) -> dict[str, Any]:
    task = state.probe.task
    labels = task.labels if task.type == "classification" and task.labels else []
    return {"type": task.type, "labels": labels, "answer_prefix": task.answer_prefix}


def _reviewer(key: ApiKey) -> str:
    require_role(key, "reviewer")
    return key.name


def _scope(key: ApiKey) -> list[str] | None:
    return None if "*" in key.models else key.models


def _not_found(message: str) -> ApiError:
    return ApiError(404, message, "invalid_request_error", "not_found", "item_id")


def _existing(state: ServeState, item_id: int, key: ApiKey) -> ReviewItem:
    """The item, if the key's scope covers its model: else a 404 that says no more."""
    try:
        item = review.get_item(state.store, item_id)
    except ReviewError as err:
        raise _not_found(str(err)) from None
    if not key.allows(item.model):
        raise _not_found(f"review item {item_id} does not exist among key '{key.name}''s models")
    return item


def _held_by_other(item: ReviewItem | ChoiceItem, reviewer: str) -> bool:
    return (
        item.claimed_by is not None
        and item.claimed_by != reviewer
        and item.claim_expires is not None
        and item.claim_expires >= utc_timestamp()
    )


def _check(state: ServeState, body: DecisionRequest, item: ReviewItem) -> None:
    """The checks `review.decide` makes before touching the store, answered as 400s here so
    that any ReviewError it raises after them is about the item's state (a 409)."""
    correction = (body.correction or "").strip() or None
    if body.decision == "correct" and correction is None:
        raise ApiError(
            400,
            "a correction needs the corrected answer",
            "invalid_request_error",
            None,
            "correction",
        )
    if body.decision == "accept" and correction is not None:
        raise ApiError(
            400,
            "an accepted answer takes no correction (use 'correct')",
            "invalid_request_error",
            None,
            "correction",
        )
    if correction is not None:
        try:
            review.check_item_correction(state.probe.task, item, correction)
        except ReviewError as err:
            raise ApiError(400, str(err), "invalid_request_error", None, "correction") from None


def _skipped(skip: str) -> set[int]:
    try:
        return {int(i) for i in skip.split(",") if i.strip()}
    except ValueError:
        raise ApiError(
            400, "skip: comma-separated item ids", "invalid_request_error", None, "skip"
        ) from None


@router.get("/v1/review/next")
def next_item(key: KeyDep, state: StateDep, skip: str = "") -> dict[str, Any]:
    """The item this reviewer holds, else the most doubtful free one not in `skip` (comma-
    separated ids the reviewer passed over), claimed for the lease."""
    reviewer = _reviewer(key)
    lease = state.monitor.review_lease_seconds
    scope = _scope(key)
    item = review.claim_next(state.store, reviewer, lease, skip=_skipped(skip), models=scope)
    return {
        "object": "review.next",
        "reviewer": reviewer,
        "item": item.to_json() if item is not None else None,
        "queue": review.counts(state.store, scope),
        "task": _task(state),
        "lease_seconds": state.monitor.review_lease_seconds,
    }


@router.post("/v1/review/{item_id}/decision")
def decide(item_id: int, body: DecisionRequest, key: KeyDep, state: StateDep) -> dict[str, Any]:
    """Accept, correct or reject an item this reviewer holds (or that nobody holds)."""
    reviewer = _reviewer(key)
    _check(state, body, _existing(state, item_id, key))
    try:
        item = review.decide(
            state.store,
            item_id,
            reviewer,
            body.decision,
            task=state.probe.task,
            correction=body.correction,
            note=body.note,
            audit_log=state.audit_log,
        )
    except ReviewError as err:
        now = _existing(state, item_id, key)
        if now.status != "open" or _held_by_other(now, reviewer):
            raise ApiError(409, str(err), "invalid_request_error", "conflict", "item_id") from None
        raise ApiError(400, str(err), "invalid_request_error", None, None) from None
    return {
        "object": "review.decision",
        "item": item.to_json(),
        "queue": review.counts(state.store, _scope(key)),
    }


@router.post("/v1/review/correction")
def correction(body: CorrectionRequest, key: KeyDep, state: StateDep) -> dict[str, Any]:
    """The text with the picked label on its first line, as the page shows it to edit on."""
    _reviewer(key)
    try:
        text = corrected_answer(state.probe.task, body.text, body.label)
    except ReviewError as err:
        raise ApiError(400, str(err), "invalid_request_error", None, "label") from None
    return {"object": "review.correction", "correction": text}


@router.post("/v1/review/{item_id}/release")
def release(item_id: int, key: KeyDep, state: StateDep) -> dict[str, Any]:
    """Give a claimed item back to the queue; `released` is false when this reviewer did not
    hold it (decided, never claimed, or the lease ran out and another reviewer took it)."""
    reviewer = _reviewer(key)
    before = _existing(state, item_id, key)
    review.release(state.store, item_id, reviewer)
    held = before.status == "open" and before.claimed_by == reviewer
    return {"object": "review.release", "id": item_id, "released": held}


def _existing_choice(state: ServeState, item_id: int, key: ApiKey) -> ChoiceItem:
    """The choice, if the key's scope covers its model (a pair without one: `*` keys only)."""
    try:
        item = choices.get_choice(state.store, item_id)
    except ChoiceError as err:
        raise _not_found(str(err)) from None
    if not ("*" in key.models or (item.model is not None and key.allows(item.model))):
        raise _not_found(f"choice item {item_id} does not exist among key '{key.name}''s models")
    return item


@router.get("/v1/review/choices/next")
def next_choice(key: KeyDep, state: StateDep, skip: str = "") -> dict[str, Any]:
    """The choice this reviewer holds, else the oldest free one not in `skip`, claimed for the
    lease; shown without the AI judge's pick."""
    reviewer = _reviewer(key)
    lease = state.monitor.review_lease_seconds
    scope = _scope(key)
    item = choices.claim_next(state.store, reviewer, lease, skip=_skipped(skip), models=scope)
    return {
        "object": "review.choices.next",
        "reviewer": reviewer,
        "item": item.to_json() if item is not None else None,
        "queue": choices.counts(state.store, scope),
        "lease_seconds": lease,
    }


@router.post("/v1/review/choices/{item_id}/decision")
def decide_choice(
    item_id: int, body: ChoiceRequest, key: KeyDep, state: StateDep
) -> dict[str, Any]:
    """Pick answer a or b, or a tie, on a choice this reviewer holds (or that nobody holds)."""
    reviewer = _reviewer(key)
    _existing_choice(state, item_id, key)
    try:
        item = choices.decide(
            state.store, item_id, reviewer, body.choice, body.note, audit_log=state.audit_log
        )
    except ChoiceError as err:
        now = _existing_choice(state, item_id, key)
        if now.status != "open" or _held_by_other(now, reviewer):
            raise ApiError(409, str(err), "invalid_request_error", "conflict", "item_id") from None
        raise ApiError(400, str(err), "invalid_request_error", None, None) from None
    return {
        "object": "review.choices.decision",
        "item": item.to_json(),
        "queue": choices.counts(state.store, _scope(key)),
    }


@router.post("/v1/review/choices/{item_id}/release")
def release_choice(item_id: int, key: KeyDep, state: StateDep) -> dict[str, Any]:
    """Give a claimed choice back to the queue; `released` is false when this reviewer did not
    hold it."""
    reviewer = _reviewer(key)
    before = _existing_choice(state, item_id, key)
    choices.release(state.store, item_id, reviewer)
    held = before.status == "open" and before.claimed_by == reviewer
    return {"object": "review.choices.release", "id": item_id, "released": held}

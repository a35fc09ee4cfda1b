"""Multi-step trajectories of the support-tools example: a customer's request, the calls that
serve it executed by `run_tool` on a generated state (so every result is consistent), and the
final answer. The same scenarios make the `multi_step` training records and the live episodes,
whose `expected` end state is the state after the gold trajectory, right by construction."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

from tunesmith.examples.tool_backend import (
    REASONS,
    SYSTEM_PROMPT,
    TOOLS,
    new_address,
    new_state,
    outcome,
    run_tool,
)
from tunesmith.examples.tool_phrasing import Phrasing
from tunesmith.examples.tool_vocabulary import (
    ADDRESS,
    CANCEL,
    CORRECTIONS,
    DONE,
    LOOKUP,
    REFUND,
    REFUND_ALL,
    STATUS_WORDS,
)
from tunesmith.examples.tool_vocabulary import REASONS as REASON_PHRASES


class Conversation:
    """Messages and gold calls of one trajectory, its calls run on `state` as they are made."""

    def __init__(self, state: dict[str, Any], fault_from: int | None = None) -> None:
        self.state = state
        self.initial = copy.deepcopy(state)
        self.messages: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM_PROMPT}]
        self.gold: list[dict[str, Any]] = []
        self.fault_from = fault_from  # the first call that may time out (the first of its tool)
        self._used: set[str] = set()

    def user(self, text: str) -> None:
        self.messages.append({"role": "user", "content": text})

    def say(self, text: str) -> None:
        self.messages.append({"role": "assistant", "content": text})

    def call(self, name: str, **arguments: Any) -> dict[str, Any]:
        """Call `name`; a timeout is answered by the same call again, as the model should."""
        due = self.fault_from is not None and len(self.gold) >= self.fault_from
        if due and name not in self._used:  # a fault fires on its tool's first call, as in replay
            fault = {"tool": name, "kind": "timeout"}
            self.state["faults"].append(dict(fault))
            self.initial["faults"].append(fault)
            self.fault_from = None
        self._used.add(name)
        while True:
            call_id = f"call_{len(self.gold) + 1}"
            self.gold.append({"name": name, "arguments": arguments})
            result = run_tool(self.state, name, arguments)
            function = {"name": name, "arguments": json.dumps(arguments, ensure_ascii=False)}
            self.messages.append({"role": "assistant", "content": None, "tool_calls": [
                {"id": call_id, "type": "function", "function": function}]})  # fmt: skip
            self.messages.append({"role": "tool", "tool_call_id": call_id, "content": result})
            parsed = json.loads(result)
            if parsed.get("error", {}).get("status") != 504:
                return parsed


def _escalated(conv: Conversation, p: Phrasing, oid: str, team: str, priority: str,
               why: str) -> None:  # fmt: skip
    ticket = conv.call("escalate", order_id=oid, team=team, priority=priority)["ticket"]
    conv.say(p.rng.choice(DONE["escalated"]).format(order=oid, team=team, ticket=ticket, why=why))


def _status(conv: Conversation, p: Phrasing, oid: str, plan: dict[str, Any]) -> None:
    found = conv.call("lookup_order", order_id=oid)
    if "error" in found:
        conv.say(p.rng.choice(DONE["not_found"]).format(order=oid))
        return
    done = p.rng.choice(DONE["status"])
    conv.say(done.format(order=oid, status=STATUS_WORDS[found["status"]],
                         items=", ".join(found["items"]), **found["address"]))  # fmt: skip


def _refund(conv: Conversation, p: Phrasing, oid: str, plan: dict[str, Any]) -> None:
    order = conv.state["orders"][oid]
    asked = plan.get("amount")
    # one rule the model can learn: look the order up only to learn the amount not given
    if asked is None:
        conv.call("lookup_order", order_id=oid)
    amount = order["total"] if asked is None else asked
    done = conv.call("issue_refund", order_id=oid, amount=amount, reason=plan["reason"])
    status = done.get("error", {}).get("status")
    if status == 422:  # more than the order's total: refund the total the error names
        done = conv.call("issue_refund", order_id=oid, amount=order["total"], reason=plan["reason"])
    elif status == 409:
        _escalated(conv, p, oid, "billing", plan["priority"], "it was already refunded")
        return
    conv.say(p.rng.choice(DONE["refund"]).format(order=oid, amount=f"{done['refunded']:.2f}"))


def _address(conv: Conversation, p: Phrasing, oid: str, plan: dict[str, Any]) -> None:
    address = plan["address"]
    # no lookup first: the tool's own error says the order has shipped, and a first step
    # that is sometimes a lookup and sometimes not is a coin the model cannot learn
    if "error" in conv.call("update_address", order_id=oid, **address):
        _escalated(conv, p, oid, "shipping", plan["priority"], "it has already shipped")
        return
    conv.say(p.rng.choice(DONE["address"]).format(order=oid, **address))


def _cancel(conv: Conversation, p: Phrasing, oid: str, plan: dict[str, Any]) -> None:
    if "error" in conv.call("cancel_order", order_id=oid):
        _escalated(conv, p, oid, "shipping", plan["priority"], "it has already shipped")
        return
    conv.say(p.rng.choice(DONE["cancel"]).format(order=oid))


_ACT = {"status": _status, "refund": _refund, "address": _address, "cancel": _cancel}


def _plan(p: Phrasing, state: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    """Pick the order the request is about, set it up for the scenario, draw the request's
    details; returns the order id and the plan (details, and the user's text as `request`)."""
    rng, oid = p.rng, p.rng.choice(sorted(state["orders"]))
    order = state["orders"][oid]
    cue, priority = p.cue()
    plan: dict[str, Any] = {"priority": priority, "cue": cue}
    if kind == "refund":
        order["status"] = rng.choice(["delivered", "delivered", "shipped"])
        reasons = REASONS if order["status"] == "delivered" else ["late", "not_delivered"]
        plan |= {"reason": rng.choice(reasons), "variant": rng.choices(
            ["full", "part", "already", "over"], weights=[5, 2, 2, 2])[0]}  # fmt: skip
        if plan["variant"] == "already":
            order["refunded"] = True
            prior = {"order_id": oid, "amount": order["total"], "reason": rng.choice(REASONS)}
            state["refunds"].append(prior)
        if plan["variant"] == "part":
            plan["amount"] = round(order["total"] * rng.choice([0.25, 0.5, 0.6]), 2)
        elif plan["variant"] == "over":
            plan["amount"] = round(order["total"] + rng.choice([5, 10, 20.5, 0.5]), 2)
        slots = {"reason": rng.choice(REASON_PHRASES[plan["reason"]])}
        if "amount" in plan:
            slots["amount"] = p.amount(plan["amount"])
        plan["slots"], plan["templates"] = slots, REFUND if "amount" in plan else REFUND_ALL
    elif kind == "address":
        order["status"] = rng.choice(["processing", "processing", "shipped"])
        plan["address"] = new_address(rng)
        plan["slots"], plan["templates"] = {"address": p.address(plan["address"])}, ADDRESS
    elif kind == "cancel":
        order["status"] = rng.choice(["processing", "processing", "shipped"])
        plan["slots"], plan["templates"] = {}, CANCEL
    else:
        plan["slots"], plan["templates"] = {}, LOOKUP
    return oid, plan


def _request(p: Phrasing, plan: dict[str, Any], shown: str, customer: dict[str, str]) -> str:
    text = p.fill(plan["templates"], order=p.ref(shown), **plan["slots"])
    cue = plan["cue"] if plan["priority"] != "normal" or p.rng.random() < 0.3 else ""
    return p.message(f"{text} {cue}".strip(), customer)


def trajectory(rng: random.Random, kind: str, fault: bool, not_found: bool = False) -> Conversation:
    """One whole conversation of `kind` (status, refund, address, cancel) on a fresh state; with
    `fault` one of its calls times out first; with `not_found` the customer's first order
    number is wrong (a 404), and half the time they send the right one."""
    p = Phrasing(rng)
    state = new_state(rng, rng.randint(2, 4))
    oid, plan = _plan(p, state, kind)
    customer = state["orders"][oid]["customer"]
    # the timeout hits the first call, or the first call of a tool not called before it
    conv = Conversation(state, rng.choice([0, 0, 1]) if fault else None)
    if not not_found:
        conv.user(_request(p, plan, oid, customer))
        _ACT[kind](conv, p, oid, plan)
        return conv
    wrong = oid
    while wrong in state["orders"]:
        wrong = f"ORD-{rng.randrange(10**6):06d}" if rng.random() < 0.3 else _mistype(rng, oid)
    conv.user(_request(p, plan, wrong, customer))
    conv.call("lookup_order", order_id=wrong)
    conv.say(rng.choice(DONE["not_found"]).format(order=wrong))
    if rng.random() < 0.5:
        conv.user(rng.choice(CORRECTIONS).format(order=oid))
        _ACT[kind](conv, p, oid, plan)
    return conv


def _mistype(rng: random.Random, oid: str) -> str:
    digits = list(oid[4:])
    i = rng.randrange(5)
    digits[i], digits[i + 1] = digits[i + 1], digits[i]
    if digits == list(oid[4:]):
        digits[i] = str((int(digits[i]) + 1) % 10)
    return "ORD-" + "".join(digits)


EPISODE_KINDS = ["refund", "address", "cancel"]


def generate_episodes(n: int, seed: int) -> list[dict[str, Any]]:
    """`n` tasks for a live episode runner: the opening turns, the initial state (faults
    included), the gold calls and the outcome they reach; about 30% carry a timeout."""
    rng = random.Random(f"support-tools-episodes-{seed}")
    faults = [i < round(0.3 * n) for i in range(n)]
    rng.shuffle(faults)
    episodes = []
    for i in range(n):
        kind = EPISODE_KINDS[i % len(EPISODE_KINDS)]
        conv = trajectory(rng, kind, fault=faults[i])
        episodes.append({
            "id": f"ep-{i:04d}", "kind": kind, "tools": rng.sample(copy.deepcopy(TOOLS), 5),
            "messages": conv.messages[:2], "state": conv.initial, "expected": outcome(conv.state),
            "gold": conv.gold, "gold_calls": len(conv.gold),
        })  # fmt: skip
    return episodes

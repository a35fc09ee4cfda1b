"""The support desk's tools and their simulated back end: plain functions over a dict state.

`run_tool` executes one call the way a live episode runner would (arguments checked against
the tool's schema, business rules enforced, injected faults fired once) and answers with JSON
text; `outcome` is the end state that decides whether a task succeeded (tau-bench's criterion).
"""

from __future__ import annotations

import copy
import json
import random
import re
import unicodedata
from typing import Any

from tunesmith.examples.ticket_vocabulary import FIRST, LAST
from tunesmith.examples.tool_vocabulary import CITIES, PRODUCTS, STREETS

SYSTEM_PROMPT = "You are the support desk's assistant. Use the tools to act on orders."
ORDER_PATTERN = r"^ORD-\d{6}$"
POSTCODE_PATTERN = r"^[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}$"
STATUSES = ("processing", "shipped", "delivered", "cancelled")
REASONS = ["damaged", "late", "wrong_item", "not_delivered"]
TEAMS = ["billing", "shipping", "technical"]
PRIORITIES = ["low", "normal", "high", "urgent"]

_ORDER = {"type": "string", "pattern": ORDER_PATTERN}


def _tool(name: str, description: str, properties: dict[str, Any]) -> dict[str, Any]:
    parameters = {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": parameters},
    }


# short descriptions: the whole list renders into every prompt of a small model
TOOLS: list[dict[str, Any]] = [
    _tool("lookup_order", "Get an order's status, total, items, customer and address.",
          {"order_id": _ORDER}),
    _tool("issue_refund", "Refund a delivered or late order (amount in GBP, at most its total).",
          {"order_id": _ORDER, "amount": {"type": "number", "exclusiveMinimum": 0},
           "reason": {"type": "string", "enum": REASONS}}),
    _tool("escalate", "Hand an order's problem to a team.",
          {"order_id": _ORDER, "team": {"type": "string", "enum": TEAMS},
           "priority": {"type": "string", "enum": PRIORITIES}}),
    _tool("update_address", "Change the delivery address of an order not yet shipped.",
          {"order_id": _ORDER, "street": {"type": "string"},
           "city": {"type": "string"},
           "postcode": {"type": "string", "pattern": POSTCODE_PATTERN}}),
    _tool("cancel_order", "Cancel an order not yet shipped.", {"order_id": _ORDER}),
]  # fmt: skip
TOOL_NAMES = [t["function"]["name"] for t in TOOLS]
_SCHEMAS = {t["function"]["name"]: t["function"]["parameters"] for t in TOOLS}


def order_id(rng: random.Random) -> str:
    return f"ORD-{rng.randrange(10**6):06d}"


def postcode(rng: random.Random, area: str) -> str:
    letters = "ABDEFGHJLNPQRSTUWXYZ"  # the letters UK inward codes use
    return (
        f"{area}{rng.randint(1, 20)} {rng.randint(1, 9)}{rng.choice(letters)}{rng.choice(letters)}"
    )


def new_address(rng: random.Random) -> dict[str, str]:
    city, area = rng.choice(CITIES)
    street = f"{rng.randint(1, 240)} {rng.choice(STREETS)}"
    return {"street": street, "city": city, "postcode": postcode(rng, area)}


def _ascii(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]", "", folded.lower()) or "customer"


def new_customer(rng: random.Random) -> dict[str, str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    local = rng.choice([f"{_ascii(first)}.{_ascii(last)}", f"{_ascii(first)}{rng.randint(1, 99)}",
                        f"{_ascii(first)[0]}{_ascii(last)}"])  # fmt: skip
    domain = rng.choice(["example.com", "mail.co.uk", "gmail.com", "outlook.com", "proton.me"])
    return {"name": f"{first} {last}", "email": f"{local}@{domain}"}


def new_order(rng: random.Random, status: str | None = None) -> dict[str, Any]:
    picked = rng.sample(PRODUCTS, rng.choice([1, 1, 1, 2, 2, 3]))
    return {
        "status": status or rng.choices(STATUSES, weights=[3, 3, 4, 1])[0],
        "total": round(sum(price for _, price in picked), 2),
        "items": [name for name, _ in picked],
        "customer": new_customer(rng),
        "address": new_address(rng),
        "refunded": False,
    }


def new_state(rng: random.Random, n_orders: int = 4) -> dict[str, Any]:
    """A shop of `n_orders` orders with no refunds, escalations or faults yet."""
    orders: dict[str, Any] = {}
    while len(orders) < n_orders:
        orders[order_id(rng)] = new_order(rng)
    return {"orders": orders, "refunds": [], "escalations": [], "faults": []}


def _error(status: int, message: str) -> str:
    return json.dumps({"error": {"status": status, "message": message}})


def argument_errors(name: str, arguments: Any) -> list[str]:
    """Why `arguments` do not fit the tool's schema (the subset its schemas use); [] if they do."""
    schema = _SCHEMAS[name]
    if not isinstance(arguments, dict):
        return ["arguments must be an object"]
    errors = [f"missing argument '{k}'" for k in schema["required"] if k not in arguments]
    errors += [f"unknown argument '{k}'" for k in arguments if k not in schema["properties"]]
    for key, value in arguments.items():
        spec = schema["properties"].get(key)
        if spec is None:
            continue
        if spec["type"] == "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                errors.append(f"'{key}' must be a number")
            elif value <= spec.get("exclusiveMinimum", float("-inf")):
                errors.append(f"'{key}' must be more than {spec['exclusiveMinimum']}")
        elif not isinstance(value, str):
            errors.append(f"'{key}' must be a string")
        elif "enum" in spec and value not in spec["enum"]:
            errors.append(f"'{key}' must be one of {', '.join(spec['enum'])}")
        elif "pattern" in spec and not re.search(spec["pattern"], value):
            errors.append(f"'{key}' does not match {spec['pattern']}")
        elif not value.strip():
            errors.append(f"'{key}' must not be empty")
    return errors


def run_tool(state: dict[str, Any], name: str, arguments: Any) -> str:
    """Execute one call on `state` (mutating it) and return its result as JSON text: the
    result object, or `{"error": {"status", "message"}}`. A call that errs has no effect."""
    if name not in _SCHEMAS:
        return _error(400, f"unknown tool '{name}'")
    for i, fault in enumerate(state["faults"]):
        if fault.get("tool") == name and fault.get("kind") == "timeout":
            del state["faults"][i]  # fires once: the retry goes through
            return _error(504, f"{name} timed out, try again")
    errors = argument_errors(name, arguments)
    if errors:
        return _error(400, "; ".join(errors))
    oid = arguments["order_id"]
    order = state["orders"].get(oid)
    if order is None:
        return _error(404, f"order {oid} not found")
    return _HANDLERS[name](state, oid, order, arguments)


def _lookup(state: dict[str, Any], oid: str, order: dict[str, Any], args: dict[str, Any]) -> str:
    shown = {k: order[k] for k in ("status", "total", "items", "customer", "address")}
    return json.dumps({"order_id": oid, **shown, "currency": "GBP"}, ensure_ascii=False)


def _refund(state: dict[str, Any], oid: str, order: dict[str, Any], args: dict[str, Any]) -> str:
    amount, reason, status = round(float(args["amount"]), 2), args["reason"], order["status"]
    # a shipped order may be refunded only when it is late or lost, anything else on delivery
    if status in ("processing", "cancelled"):
        why = "has not shipped: cancel it instead" if status == "processing" else "is cancelled"
        return _error(409, f"order {oid} {why}")
    if status == "shipped" and reason not in ("late", "not_delivered"):
        return _error(409, f"order {oid} is not delivered yet: refund it once it arrives")
    if order["refunded"]:
        return _error(409, f"order {oid} was already refunded: escalate to billing")
    if amount > order["total"]:
        return _error(422, f"amount {amount:.2f} exceeds the order total {order['total']:.2f}")
    order["refunded"] = True
    state["refunds"].append({"order_id": oid, "amount": amount, "reason": reason})
    return json.dumps({"order_id": oid, "refunded": amount, "currency": "GBP", "reason": reason})


def _escalate(state: dict[str, Any], oid: str, order: dict[str, Any], args: dict[str, Any]) -> str:
    ticket = f"ESC-{1001 + len(state['escalations'])}"
    entry = {"order_id": oid, "team": args["team"], "priority": args["priority"]}
    state["escalations"].append(entry)
    return json.dumps({"ticket": ticket, **entry, "status": "open"})


def _address(state: dict[str, Any], oid: str, order: dict[str, Any], args: dict[str, Any]) -> str:
    if order["status"] == "cancelled":
        return _error(409, f"order {oid} is cancelled")
    if order["status"] != "processing":
        return _error(409, f"order {oid} already shipped: escalate to shipping")
    order["address"] = {k: args[k] for k in ("street", "city", "postcode")}
    return json.dumps({"order_id": oid, "address": order["address"], "updated": True})


def _cancel(state: dict[str, Any], oid: str, order: dict[str, Any], args: dict[str, Any]) -> str:
    if order["status"] == "cancelled":
        return _error(409, f"order {oid} is already cancelled")
    if order["status"] != "processing":
        return _error(409, f"order {oid} already {order['status']}: escalate to shipping")
    order["status"] = "cancelled"
    return json.dumps({"order_id": oid, "status": "cancelled", "refund_due": order["total"]})


_HANDLERS = {"lookup_order": _lookup, "issue_refund": _refund, "escalate": _escalate,
             "update_address": _address, "cancel_order": _cancel}  # fmt: skip


def outcome(state: dict[str, Any]) -> dict[str, Any]:
    """What decides a task's success, comparable with == (and the same after a JSON round
    trip): refunds and escalations as sorted lists, each order's status and address."""
    refunds = sorted([r["order_id"], round(float(r["amount"]), 2), r["reason"]]
                     for r in state["refunds"])  # fmt: skip
    escalations = sorted([e["order_id"], e["team"], e["priority"]] for e in state["escalations"])
    orders = {oid: {"status": o["status"], "address": copy.deepcopy(o["address"])}
              for oid, o in sorted(state["orders"].items())}  # fmt: skip
    return {"refunds": refunds, "escalations": escalations, "orders": orders}

"""How the support-tools example's customers write: greetings, typos, personal data, amounts,
addresses and the requests behind each tool call, drawn from a seeded `random.Random`."""

from __future__ import annotations

import random
import re
from typing import Any

from tunesmith.examples.tool_backend import new_address
from tunesmith.examples.tool_vocabulary import (
    ADDRESS,
    ADDRESS_FORMATS,
    AMOUNT_FORMATS,
    CANCEL,
    CLAUSES,
    ESCALATE,
    GREETINGS,
    IDENTITY,
    LOOKUP,
    PRIORITY_CLAUSES,
    PRIORITY_CUES,
    PROBLEMS,
    REASONS,
    REFUND,
    SIGNATURES,
    SIGNOFFS,
    TEAM_WORDS,
)

_SLOT = re.compile(r"(\{\w+\})")
_WORD = re.compile(r"[A-Za-z]{5,}")
_FULL = {"lookup_order": LOOKUP, "issue_refund": REFUND, "escalate": ESCALATE,
         "update_address": ADDRESS, "cancel_order": CANCEL}  # fmt: skip


class Phrasing:
    """One generator's customer voice; every choice is a draw from `rng`."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def typo(self, template: str) -> str:
        """Sometimes one swapped pair of letters in a word of the template (never in a slot)."""
        if self.rng.random() > 0.12:
            return template
        parts = _SLOT.split(template)
        texts = [i for i, part in enumerate(parts) if not _SLOT.fullmatch(part)]
        words = [(i, m) for i in texts for m in _WORD.finditer(parts[i])]
        if not words:
            return template
        i, match = self.rng.choice(words)
        j = match.start() + self.rng.randrange(1, len(match.group()) - 2)
        text = parts[i]
        parts[i] = text[:j] + text[j + 1] + text[j] + text[j + 2 :]
        return "".join(parts)

    def fill(self, templates: list[str], **slots: str) -> str:
        return self.typo(self.rng.choice(templates)).format(**slots)

    def ref(self, oid: str) -> str:
        """The order id as a customer writes it: now and then in lower case."""
        return oid.lower() if self.rng.random() < 0.04 else oid

    def amount(self, value: float) -> str:
        return self.rng.choice(AMOUNT_FORMATS).format(v=f"{value:.2f}")

    def address(self, address: dict[str, str]) -> str:
        return self.rng.choice(ADDRESS_FORMATS).format(**address)

    def cue(self) -> tuple[str, str]:
        """A sentence asking for a priority (or none) and the priority it asks for."""
        roll = self.rng.random()
        if roll < 0.5:
            return "", "normal"
        priority = self.rng.choice(["low", "normal", "high", "urgent", "urgent", "high"])
        return self.rng.choice(PRIORITY_CUES[priority]), priority

    def message(self, body: str, customer: dict[str, str] | None = None) -> str:
        """A user turn: maybe a greeting, the request, maybe who they are, maybe a sign-off."""
        parts = [self.rng.choice(GREETINGS)] if self.rng.random() < 0.55 else []
        identity = customer is not None and self.rng.random() < 0.3
        signature = identity and self.rng.random() < 0.4
        if identity and not signature:
            parts.append(self.rng.choice(IDENTITY).format(**customer))  # type: ignore[arg-type]
        if parts and parts[-1].endswith(",") and body[0].isupper() and body[1].islower():
            body = body[0].lower() + body[1:]
        parts.append(body)
        if self.rng.random() < 0.3:
            parts.append(self.rng.choice(SIGNOFFS))
        if signature:
            parts.append(self.rng.choice(SIGNATURES).format(**customer))  # type: ignore[arg-type]
        return " ".join(p for p in parts if p)

    def slots(self, name: str, oid: str) -> tuple[dict[str, str], dict[str, Any]]:
        """A request for one call of `name` on `oid`: the template slots, the call's arguments."""
        slots: dict[str, str] = {"order": self.ref(oid)}
        args: dict[str, Any] = {"order_id": oid}
        if name == "issue_refund":
            reason = self.rng.choice(list(REASONS))
            value = round(self.rng.choice([self.rng.uniform(5, 200), self.rng.uniform(5, 60)]), 2)
            slots |= {"reason": self.rng.choice(REASONS[reason]), "amount": self.amount(value)}
            args |= {"amount": value, "reason": reason}
        elif name == "escalate":
            team = self.rng.choice(list(TEAM_WORDS))
            problem = self.rng.choice(PROBLEMS[team])
            cue, priority = self.cue()
            slots |= {"team": self.rng.choice(TEAM_WORDS[team]), "problem": problem, "cue": cue,
                      "problem_lower": problem[0].lower() + problem[1:],
                      "prio": self.rng.choice(PRIORITY_CLAUSES[priority])}  # fmt: skip
            if slots["prio"] == "" and priority != "normal":
                slots["prio"] = PRIORITY_CLAUSES[priority][0]
            args |= {"team": team, "priority": priority}
        elif name == "update_address":
            address = new_address(self.rng)
            slots["address"] = self.address(address)
            args |= address
        return slots, args

    def request(self, name: str, oid: str) -> tuple[str, dict[str, Any]]:
        """A whole sentence (or two) asking for one call, and that call's arguments."""
        slots, args = self.slots(name, oid)
        text = self.fill(_FULL[name], **slots)
        if name == "escalate" and slots["cue"]:
            text = f"{text} {slots['cue']}"
        return text, args

    def clause(self, name: str, oid: str) -> tuple[str, dict[str, Any]]:
        """A fragment asking for one call, to be joined with others into one message."""
        slots, args = self.slots(name, oid)
        return self.rng.choice(CLAUSES[name]).format(**slots), args

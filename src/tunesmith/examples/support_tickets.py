"""Deterministic generator of realistic raw customer-support tickets.

The output is the demo data set, the tests' data and the ground truth of the PII-masking and
deduplication benchmarks: every planted personal-data value (``pii``), every planted non-personal
look-alike (``lookalikes``), every duplicate (``dup_of``/``dup_kind``) and every defect is recorded,
with span values equal to the exact substrings that appear in the row.
"""

from __future__ import annotations

import csv
import random
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from tunesmith.examples.ticket_duplicates import exact_copy, mojibake, near_body
from tunesmith.examples.ticket_spans import (
    VALUE_SLOTS,
    Seg,
    email_address,
    join_segs,
    phone_number,
    seg_text,
)
from tunesmith.examples.ticket_vocabulary import (
    ACCENTED_FIRST,
    ACKS,
    BODY,
    CLOSERS,
    DATE_FORMATS,
    FILLERS,
    FIRST,
    GREETINGS,
    LAST,
    MONTHS,
    NAMED_CLOSERS,
    OPENERS,
    PII_TEMPLATES,
    PII_TYPES,
    PII_WEIGHTS,
    PLAIN,
    PRIORITIES,
    QUEUES,
    REGIONS,
    REPLIES,
    SHORT_BODIES,
    SIGNOFFS,
    SUBJECTS,
    TEAMS,
    TIERS,
)

FIELDS: list[str] = ["ticket_id", "created_at", "customer_name", "customer_email",
                      "customer_phone", "customer_tier", "region", "queue", "priority", "subject",
                      "body", "agent_reply"]  # fmt: skip
LOOKALIKE_TYPES: list[str] = ["ORDER_ID", "SKU", "VERSION", "AMOUNT", "TICKET_DATE", "ERROR_CODE"]

__all__ = ["FIELDS", "LOOKALIKE_TYPES", "PII_TYPES", "QUEUES", "GeneratedTicket", "Span",
           "generate_tickets", "write_csv", "write_example"]  # fmt: skip


@dataclass(frozen=True)
class Span:
    field: str  # which column of the row holds it
    value: str  # the exact substring as it appears in row[field]
    type: str  # one of PII_TYPES or LOOKALIKE_TYPES


@dataclass
class GeneratedTicket:
    row: dict[str, str]
    pii: list[Span]
    lookalikes: list[Span]
    dup_of: int | None
    dup_kind: str | None  # "exact" | "near" | None
    defect: str | None  # None | "mojibake" | "empty" | "short" | "malformed"


_SLOT_RE = re.compile(r"\{(\w+)\}")
_ALT_RE = re.compile(r"\[([^\[\]]*)\]")
_LOOK_SLOT_RE = re.compile(r"\{(order|sku|version|amount|date|error)\}")
_PII_SET = frozenset(PII_TYPES)
_EPOCH = datetime(2026, 1, 1)


@dataclass
class _Customer:
    first: str
    last: str
    email: str
    phone: str
    tier: str
    region: str

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


def _new_customer(rng: random.Random, accented: bool = False) -> _Customer:
    first = rng.choice(ACCENTED_FIRST if accented else FIRST)
    last = rng.choice(LAST)
    region = rng.choices(REGIONS, weights=[40, 30, 20, 10])[0]
    tier = rng.choices(TIERS, weights=[45, 35, 20])[0]
    return _Customer(
        first, last, email_address(rng, first, last), phone_number(rng, region), tier, region
    )


def _format_date(rng: random.Random, d: date) -> str:
    return rng.choice(DATE_FORMATS).format(Y=d.year, m=d.month, d=d.day, M=MONTHS[d.month - 1])


class _Writer:
    """Fills templates for one ticket, keeping every slot as its own (recorded) segment."""

    def __init__(self, rng: random.Random, cust: _Customer, queue: str, created: datetime) -> None:
        self.rng, self.cust, self.queue, self.created = rng, cust, queue, created
        self.agent = rng.choice(FIRST)

    def render(self, template: str) -> list[Seg]:
        text = _ALT_RE.sub(lambda m: self.rng.choice(m.group(1).split("|")), template)
        segs: list[Seg] = []
        pos = 0
        for m in _SLOT_RE.finditer(text):
            segs.append((text[pos : m.start()], None))
            segs.extend(self.slot(m.group(1)))
            pos = m.end()
        segs.append((text[pos:], None))
        return [s for s in segs if s[0]]

    def slot(self, name: str) -> list[Seg]:
        rng, cust = self.rng, self.cust
        if name in VALUE_SLOTS:
            return VALUE_SLOTS[name](rng)
        if name in PLAIN:
            return [(rng.choice(PLAIN[name]), None)]
        if name == "team":
            return [(rng.choice(TEAMS[self.queue]), None)]
        if name == "date":  # a ticket-related date (never a birth date)
            day = self.created.date()
            lo = max(date(2026, 1, 1), day - timedelta(days=90))
            hi = min(date(2026, 12, 31), day + timedelta(days=30))
            d = lo + timedelta(days=rng.randint(0, (hi - lo).days))
            return [(_format_date(rng, d), "TICKET_DATE")]
        if name == "dob":
            d = date(1950, 1, 1) + timedelta(days=rng.randrange(20000))
            return [(_format_date(rng, d), "DATE_OF_BIRTH")]
        if name == "email":
            other = rng.random() < 0.4
            return [
                (
                    email_address(rng, cust.first, cust.last) if other else cust.email,
                    "EMAIL_ADDRESS",
                )
            ]
        if name == "oemail":
            return [(email_address(rng, rng.choice(FIRST), rng.choice(LAST)), "EMAIL_ADDRESS")]
        if name == "phone":
            other = rng.random() < 0.4
            return [(phone_number(rng, cust.region) if other else cust.phone, "PHONE_NUMBER")]
        person = {"name": cust.name, "first": cust.first, "agent": self.agent}.get(name)
        if person is None and name == "other":
            person = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        if person is None and name == "ofirst":
            person = rng.choice(FIRST)
        if person is None:
            raise KeyError(f"unknown template slot {{{name}}}")
        return [(person, "PERSON")]

    def subject(self, priority: str) -> list[Seg]:
        prefix = self.rng.choices(["", "Re: ", "Fwd: ", "URGENT: "], [84, 6, 4, 6])[0]
        if priority == "urgent" and self.rng.random() < 0.4:
            prefix = "URGENT: "
        return [(prefix, None), *self.render(self.rng.choice(SUBJECTS[self.queue]))]

    def body(self, named_closer: bool) -> list[Seg]:
        rng, pool = self.rng, BODY[self.queue]
        look_pool = [t for t in pool if _LOOK_SLOT_RE.search(t)]
        plain_pool = [t for t in pool if not _LOOK_SLOT_RE.search(t)]
        n_look = rng.choices([0, 1, 2, 3], [16, 46, 28, 10])[0]
        n_pii = rng.choices([0, 1, 2, 3], [22, 40, 26, 12])[0]
        n_plain = max(rng.randint(3, 6) - n_look - n_pii, 0)
        plain = rng.sample(plain_pool, len(plain_pool))
        chosen = [("look", t) for t in rng.sample(look_pool, n_look)]
        chosen += [("plain", plain.pop()) for _ in range(n_plain)]
        rng.shuffle(chosen)
        weights = PII_WEIGHTS[self.queue]  # weighted sampling without replacement
        keys = sorted(range(len(PII_TYPES)), key=lambda i: -(rng.random() ** (1 / weights[i])))
        for i in keys[:n_pii]:
            template = rng.choice(PII_TEMPLATES[PII_TYPES[i]])
            chosen.insert(rng.randint(0, len(chosen)), ("pii", template))
        sentences = [(tag, self.render(t)) for tag, t in chosen]
        opener = self.render(rng.choice(OPENERS)) if rng.random() < 0.85 else []
        r = rng.random()
        closers = NAMED_CLOSERS if named_closer or r < 0.5 else CLOSERS
        closer = self.render(rng.choice(closers)) if named_closer or r < 0.9 else []
        spare = plain + rng.sample(FILLERS, len(FILLERS))

        def words() -> int:
            return sum(
                len(seg_text(p).split()) for p in [opener, closer] + [s for _, s in sentences]
            )

        while words() < 42 and spare:
            sentences.insert(rng.randint(0, len(sentences)), ("plain", self.render(spare.pop())))
        for tag in ("plain", "look"):
            while words() > 116 and any(t == tag for t, _ in sentences):
                sentences.pop(max(i for i, (t, _) in enumerate(sentences) if t == tag))
        texts = [s for _, s in sentences]
        cut = len(texts) // 2 if len(texts) >= 4 and rng.random() < 0.5 else len(texts)
        middle = (
            join_segs([join_segs(texts[:cut]), join_segs(texts[cut:])], "\n\n")
            if texts[cut:]
            else []
        )
        middle = middle or join_segs(texts)
        out: list[Seg] = []
        if opener:
            out += [*opener, ("\n\n" if seg_text(opener).endswith(",") else " ", None)]
        out += middle
        if closer:
            out += [("\n\n", None), *closer]
        return out

    def reply(self) -> list[Seg]:
        rng = self.rng
        extra = rng.sample(REPLIES[self.queue], rng.choices([0, 1, 2], [25, 50, 25])[0])
        text = join_segs([self.render(t) for t in [rng.choice(ACKS), *extra]])
        greeting, sign = self.render(rng.choice(GREETINGS)), self.render(rng.choice(SIGNOFFS))
        return join_segs([greeting, text, sign], "\n\n")


def _draft(rng: random.Random, cust: _Customer, queue: str, priority: str, tid: str,
           created: datetime, accented: bool = False) -> dict[str, list[Seg]]:  # fmt: skip
    w = _Writer(rng, cust, queue, created)
    return {
        "ticket_id": [(tid, None)], "created_at": [(created.isoformat(), None)],
        "customer_name": [(cust.name, "PERSON")], "customer_email": [(cust.email, "EMAIL_ADDRESS")],
        "customer_phone": [(cust.phone, "PHONE_NUMBER")], "customer_tier": [(cust.tier, None)],
        "region": [(cust.region, None)], "queue": [(queue, None)], "priority": [(priority, None)],
        "subject": w.subject(priority), "body": w.body(accented), "agent_reply": w.reply(),
    }  # fmt: skip


def _finish(segs: dict[str, list[Seg]], dup_of: int | None = None, dup_kind: str | None = None,
            defect: str | None = None) -> GeneratedTicket:  # fmt: skip
    spans = [Span(f, t, k) for f in FIELDS for t, k in segs[f] if k is not None and t]
    return GeneratedTicket(
        row={f: seg_text(segs[f]) for f in FIELDS},
        pii=[s for s in spans if s.type in _PII_SET],
        lookalikes=[s for s in spans if s.type not in _PII_SET],
        dup_of=dup_of, dup_kind=dup_kind, defect=defect,
    )  # fmt: skip


_KINDS = ["exact", "near", "mojibake", "empty", "short", "malformed", "normal"]
_KIND_WEIGHTS = [6, 6, 2, 1, 1, 1, 83]


def generate_tickets(n: int, seed: int = 0) -> list[GeneratedTicket]:
    """Generate ``n`` tickets deterministically from ``seed`` (same inputs, same output)."""
    rng = random.Random(seed)
    tickets: list[GeneratedTicket] = []
    drafts: dict[int, dict[str, list[Seg]]] = {}
    meta: dict[int, tuple[_Customer, str, str]] = {}
    originals: list[int] = []
    customers: list[_Customer] = []
    step = 365 * 86400 / max(n, 1)
    number = 100000 + rng.randint(0, 4000)
    for i in range(n):
        number += rng.randint(1, 9)
        tid = f"TCK-{number}"
        created = _EPOCH + timedelta(seconds=int(step * (i + 0.95 * rng.random())))
        kind = rng.choices(_KINDS, _KIND_WEIGHTS)[0]
        if kind in ("exact", "near") and not originals:
            kind = "normal"
        if kind == "empty":
            segs: dict[str, list[Seg]] = {f: [("", None)] for f in FIELDS}
            segs["ticket_id"] = [(tid, None)]
            tickets.append(_finish(segs, defect="empty"))
            continue
        if kind in ("exact", "near"):
            orig = rng.choice(originals[-300:])
            segs = {k: list(v) for k, v in drafts[orig].items()}
            segs["ticket_id"], segs["created_at"] = [(tid, None)], [(created.isoformat(), None)]
            if kind == "exact":
                segs = exact_copy(rng, segs)
            else:
                cust, queue, priority = meta[orig]
                if rng.random() < 0.4 and priority != "urgent":
                    priority = PRIORITIES[PRIORITIES.index(priority) + 1]
                segs["priority"] = [(priority, None)]
                segs["body"] = near_body(rng, seg_text(segs["subject"]), segs["body"])
                segs["agent_reply"] = _Writer(rng, cust, queue, created).reply()
            tickets.append(_finish(segs, dup_of=orig, dup_kind=kind))
            continue
        reuse = bool(customers) and kind != "mojibake" and rng.random() < 0.08
        cust = rng.choice(customers[-500:]) if reuse else _new_customer(rng, kind == "mojibake")
        customers.append(cust)
        queue = rng.choices(QUEUES, [24, 26, 18, 17, 15])[0]
        priority = rng.choices(PRIORITIES, [20, 50, 22, 8])[0]
        segs = _draft(rng, cust, queue, priority, tid, created, accented=kind == "mojibake")
        if kind == "mojibake":
            for f in ("subject", "body", "agent_reply"):
                segs[f] = [(mojibake(t), k) for t, k in segs[f]]
        elif kind == "short":
            segs["subject"], segs["agent_reply"] = [("", None)], [("", None)]
            segs["body"] = [(rng.choice(SHORT_BODIES), None)]
        elif kind == "normal":
            drafts[i], meta[i] = segs, (cust, queue, priority)
            originals.append(i)
        tickets.append(_finish(segs, defect=None if kind == "normal" else kind))
    return tickets


def _malformed(values: list[str], ticket_id: str) -> list[str]:
    """A broken export line: two columns dropped or three stray columns appended."""
    if int(re.sub(r"\D", "", ticket_id) or "0") % 2:
        return values[:5] + values[7:]
    return [*values, "", "N/A", "export-error"]


def write_csv(tickets: list[GeneratedTicket], path: Path) -> None:
    """Write UTF-8 CSV with a FIELDS header; malformed tickets get a wrong column count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        writer.writerow(FIELDS)
        for t in tickets:
            values = [t.row[f] for f in FIELDS]
            if t.defect == "malformed":
                values = _malformed(values, t.row["ticket_id"])
            writer.writerow(values)


def write_example(raw_dir: Path, n: int = 600, seed: int = 0) -> Path:
    """Write ``raw_dir/tickets.csv`` with ``n`` generated tickets and return its path."""
    path = Path(raw_dir) / "tickets.csv"
    write_csv(generate_tickets(n, seed), path)
    return path

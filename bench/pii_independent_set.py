"""Writes tests/assets/pii_independent/tickets.jsonl: a PII test set independent of the example.

Nothing here comes from `tunesmith.examples.support_tickets`: the names, the sentence templates,
the message styles (e-mail threads with quoted replies and signatures, chat transcripts, agent
notes, web-form dumps, SMS) and the value formats were written for this set, across ten
countries (US CA UK FR DE ES IT NL IN AU). Every planted value is recorded with its type and
format; a postal address also lists the parts that must not survive masking (street line,
postcode). Look-alikes (order ids, SKUs, versions, tracking numbers, dates, amounts, times,
invoice and case numbers) are recorded too: they must survive.

    python bench/pii_independent_set.py [--records 600] [--seed 2031]
"""

from __future__ import annotations

import argparse
import json
import random
import string
from pathlib import Path

from pii_independent_other import LOOKALIKES, address
from pii_independent_values import COUNTRIES, VALUES, Value

VALUES = {**VALUES, "POSTAL_ADDRESS": address}

OUT = Path(__file__).parent.parent / "tests/assets/pii_independent/tickets.jsonl"

# One sentence per planted value: {v} is the value, {n} the writer's first name.
SENTENCES: dict[str, list[str]] = {
    "PERSON": [
        "This is {v} writing again about the same problem.",
        "I spoke with {v} from your team last week and nothing happened.",
        "Account holder: {v}",
        "My colleague {v} will be handling this while I am away.",
        "Customer {v} rang twice today, very frustrated.",
        "Please ask for {v} when you call back.",
        "The parcel was signed for by {v}, who is not at this address.",
        "cc'ing {v} (our office manager) on this thread.",
        "Name on the account is {v}.",
    ],
    "EMAIL_ADDRESS": [
        "Send the confirmation to {v} instead of my old address.",
        "Reply-to: {v}",
        "you can write to me at {v} anytime",
        "Customer asked that all invoices go to {v} from now on.",
        "My login is {v} but the reset link never arrives.",
        "(alternate contact: {v})",
    ],
    "PHONE_NUMBER": [
        "Best to call me on {v} after 6pm.",
        "mobile: {v}",
        "Tel. {v}",
        "She left a voicemail, callback number {v}.",
        "You can text me at {v} if that is easier.",
        "WhatsApp {v}",
        "Phone {v} (office hours only)",
        "reach me at {v}",
        "Ph: {v}",
        "cell {v}, landline is disconnected",
    ],
    "CREDIT_CARD": [
        "The charge went on my card {v} and I never authorised it.",
        "card number {v}, expiry 09/28",
        "Please refund to the original card ({v}).",
        "I paid with {v} but the order shows unpaid.",
    ],
    "IBAN_CODE": [
        "Please send the refund by transfer to {v}.",
        "Our bank details: {v}",
        "IBAN for the direct debit: {v}",
        "the money should go to account {v} (same name)",
    ],
    "US_SSN": [
        "For the tax form: social security number {v}.",
        "SSN {v} - please do not store this.",
        "He read out his social {v} on the call, I stopped him.",
    ],
    "IP_ADDRESS": [
        "The login attempts all came from {v}.",
        "Our office egress IP is {v}, please whitelist it.",
        "Blocked address: {v}",
        "the VPN hands me {v} and the site rejects it",
    ],
    "DATE_OF_BIRTH": [],  # the value carries its own birth context, per language
    "POSTAL_ADDRESS": [
        "Please ship the replacement to {v}.",
        "New billing address:\n{v}",
        "I moved, the address is now {v}.",
        "Delivery address on file is wrong, should be {v}",
        "Return label must be from {v}.",
    ],
    "NATIONAL_ID": [],  # with its own national wording
    "PASSPORT": [],
}
LOOKALIKE_SENTENCES: dict[str, list[str]] = {
    "ORDER_ID": [
        "Order {v} arrived damaged.",
        "re: order {v}",
        "My order number is {v} and it still says processing.",
    ],
    "SKU": ["The item is {v}, size M.", "Product code {v} is out of stock again.", "SKU {v}"],
    "VERSION": [
        "I am on app version {v}.",
        "After updating to {v} the sync stopped.",
        "firmware {v} on the router",
    ],
    "TRACKING": ["Tracking {v} has not moved in a week.", "tracking no. {v}"],
    "DATE": ["It was delivered on {v}.", "Since {v} nothing works.", "the invoice dated {v}"],
    "AMOUNT": ["I was charged {v} twice.", "The refund of {v} never arrived.", "total {v}"],
    "TIME": ["The outage started at {v}.", "I called at {v} and waited an hour."],
    "INVOICE": ["Invoice {v} is wrong.", "see attached invoice {v}"],
    "CASE": ["This is about case {v}.", "Previous ticket: {v}"],
}


class Record:
    """One message under construction: text pieces plus the spans planted in them."""

    def __init__(self) -> None:
        self.text = ""
        self.pii: list[dict] = []
        self.lookalikes: list[dict] = []

    def add(self, piece: str) -> None:
        self.text += piece

    def plant(self, template: str, value: Value, kind: str, lookalike: bool = False) -> None:
        before, _, after = template.partition("{v}")
        self.text += before
        entry = {"value": value.text, "type": kind, "format": value.format}
        if value.parts:
            entry["parts"] = list(value.parts)
        (self.lookalikes if lookalike else self.pii).append(entry)
        self.text += value.text + after


def _sentence(rng: random.Random, kind: str, value: Value) -> str:
    if value.template:
        return value.template
    return rng.choice(SENTENCES[kind])


def _body(rng: random.Random, rec: Record, country: str, kinds: list[str], joiner: str) -> None:
    items: list[tuple[str, bool]] = [(k, False) for k in kinds]
    items += [(k, True) for k in rng.sample(sorted(LOOKALIKES), rng.randint(1, 3))]
    rng.shuffle(items)
    for i, (kind, lookalike) in enumerate(items):
        if i:
            rec.add(joiner)
        if lookalike:
            value = LOOKALIKES[kind](rng, country)
            rec.plant(rng.choice(LOOKALIKE_SENTENCES[kind]), value, kind, lookalike=True)
        else:
            value = VALUES[kind](rng, country)
            rec.plant(_sentence(rng, kind, value), value, kind)


def _email(rng: random.Random, rec: Record, country: str, kinds: list[str], writer: Value) -> None:
    rec.add(rng.choice(["Hello,\n\n", "Good morning\n\n", "To whom it may concern,\n\n", ""]))
    _body(rng, rec, country, kinds, rng.choice([" ", "\n", " Also, "]))
    rec.add("\n\n" + rng.choice(["Thanks in advance", "Kind regards", "Cheers", "Best"]) + ",\n")
    rec.plant("{v}", writer, "PERSON")
    if rng.random() < 0.5:
        rec.add("\n\n-----Original Message-----\nFrom: Support Desk\nSubject: Your request\n")
        rec.add("> We are looking into it and will get back to you within 48 hours.\n")


def _chat(rng: random.Random, rec: Record, country: str, kinds: list[str], writer: Value) -> None:
    hour, minute = rng.randint(8, 20), rng.randint(0, 50)
    rec.add(f"[{hour:02d}:{minute:02d}] Bot: Hi! What's your name?\n[{hour:02d}:{minute + 1:02d}] ")
    rec.plant("Visitor: {v}\n", writer, "PERSON")
    rec.add(f"[{hour:02d}:{minute + 2:02d}] Visitor: ")
    _body(rng, rec, country, kinds, f"\n[{hour:02d}:{minute + 4:02d}] Visitor: ")
    rec.add(f"\n[{hour:02d}:{minute + 6:02d}] Agent: thanks, give me a moment to check")


def _note(rng: random.Random, rec: Record, country: str, kinds: list[str], writer: Value) -> None:
    rec.add(rng.choice(["Call note - ", "NOTE: ", "Internal: ", "Spoke to cust. "]))
    rec.plant(rng.choice(["caller was {v}. ", "{v} on the line. ", "cust {v}; "]), writer, "PERSON")
    _body(rng, rec, country, kinds, rng.choice(["; ", ". ", " -- "]))
    rec.add(rng.choice([" Escalated to tier 2.", " Will follow up.", " Closed.", ""]))


def _sms(rng: random.Random, rec: Record, country: str, kinds: list[str], writer: Value) -> None:
    _body(rng, rec, country, kinds, " ")
    rec.plant(" - {v}", writer, "PERSON")


STYLES = {"email": _email, "chat": _chat, "note": _note, "sms": _sms}
PLANTED = [k for k in SENTENCES if k != "PERSON"]


def build(records: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    queue: list[str] = []
    for i in range(records):
        country = COUNTRIES[i % len(COUNTRIES)]
        kinds = []
        for _ in range(rng.randint(2, 4)):
            if not queue:  # cycle through the types so each gets a similar share
                queue = list(PLANTED)
                rng.shuffle(queue)
            kinds.append(queue.pop())
        # An SSN is the US national id; elsewhere that slot holds the country's own.
        swap = {"US_SSN": "NATIONAL_ID"} if country != "US" else {"NATIONAL_ID": "US_SSN"}
        kinds = [swap.get(k, k) for k in kinds]
        if country == "US" and "US_SSN" not in kinds:
            kinds.append("US_SSN")  # else too few SSNs for a recall figure
        style = rng.choice(sorted(STYLES))
        rec = Record()
        STYLES[style](rng, rec, country, kinds, VALUES["PERSON"](rng, country))
        for span in rec.pii + rec.lookalikes:
            for piece in [span["value"], *span.get("parts", [])]:
                assert piece in rec.text, (piece, rec.text)
        suffix = "".join(rng.choice(string.ascii_lowercase) for _ in range(4))
        out.append(
            {
                "id": f"ind-{i:04d}-{suffix}",
                "country": country,
                "style": style,
                "fields": {"message": rec.text},
                "pii": rec.pii,
                "lookalikes": rec.lookalikes,
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=600)
    parser.add_argument("--seed", type=int, default=2031)
    args = parser.parse_args()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    rows = build(args.records, args.seed)
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


if __name__ == "__main__":
    main()

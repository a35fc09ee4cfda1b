"""Deterministic generator of tickets about the Voltway e-bike line, which the training data
never mentions: the "new product line" shift that the monitor's input-drift check must flag.

Ground truth is company policy: every Voltway ticket goes to the ``returns`` queue, where the
Voltway recall programme team sits, even when the wording looks technical (battery, display),
like shipping (late delivery) or like billing (a charge). Tickets share the base generator's
customers, openers, closers, PII sentences and look-alike slots, so only the topic differs.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from tunesmith.examples.support_tickets import GeneratedTicket, _finish, _new_customer, _Writer
from tunesmith.examples.ticket_spans import Seg, join_segs, seg_text
from tunesmith.examples.ticket_vocabulary import (
    CLOSERS,
    FILLERS,
    GREETINGS,
    NAMED_CLOSERS,
    OPENERS,
    PII_TEMPLATES,
    PRIORITIES,
    SIGNOFFS,
    template_lines,
)

__all__ = ["generate_product_line_tickets"]

QUEUE = "returns"
_BIKES = ["Voltway City e-bike", "Voltway Trail e-bike", "Voltway Cargo e-bike", "Voltway City",
          "Voltway Trail", "Voltway Cargo", "Voltway e-bike"]  # fmt: skip
_PARTS = ["battery", "charger", "hub motor", "display", "frame", "rear rack", "handlebar",
          "front wheel", "battery lock", "torque sensor"]  # fmt: skip

_SUBJECTS = template_lines("""
{bike} battery won't charge / [Error|Fault code] {error} on my {bike} display
Is my {bike} part of the recall? / Recall notice for the Voltway [City|Trail|Cargo]
Where is my {bike}? Delivery [late|overdue] / Charged twice for the {bike}
{bike} motor cuts out [uphill|under load] / Pedal assist not working on the {bike}
Firmware {version} bricked my e-bike / Crack in the frame of my {bike}
Voltway charger [overheating|smells burnt] / Return my Voltway e-bike under the recall
Refund for the {bike}, order {order} / Voltway Cargo rear rack [loose|snapped]
Voltway e-bike display [blank|frozen] / Frame number check for the Voltway recall
Collection of my recalled e-bike / Payment of {amount} for the Voltway e-bike
Voltway battery recall - what now? / Spare {part} for the Voltway e-bike
""")  # fmt: skip
_BODY = template_lines("""
The battery of my {bike} [won't charge|stops charging at 80 percent|drains overnight].
Since {date} the display shows {error} [every time I switch it on|whenever I go uphill].
The motor cuts out [on every hill|under load|after ten kilometres] and the assist is gone.
After the firmware update to {version} the [display stays black|bike won't turn on].
The charger gets [very hot|noticeably warm] and there is a [burnt|plastic] smell near the battery.
Pedal assist [kicks in late|surges unexpectedly|switches off at random], which is dangerous.
I noticed a [hairline crack|small crack|bulge] [near the battery mount|at the head tube].
The range dropped from about [sixty|eighty] kilometres to barely [twenty|fifteen] in a month.
The app shows a full battery, but the bike [shuts off|dies] as soon as I start pedalling.
The torque sensor seems to [lag|misread], so the assist only works when I pedal really hard.
My {bike} (order {order}) was due on {date}, but the delivery [still hasn't arrived|is late].
The courier [dropped|damaged] the e-bike box and the {part} [is scratched|looks bent].
The tracking for the e-bike has said “[awaiting collection|in transit]” for [a week|ten days].
The e-bike arrived without the [charger|battery key|display mount|pedals], so I can't ride it.
I was charged {amount} for the {bike} [twice|two times] on my card.
The invoice for the e-bike shows {amount}, but the [advertised|checkout] price was lower.
I paid {amount} for the extended battery warranty and never received [a confirmation|any papers].
The finance plan for my {bike} took {amount} [although I had cancelled|before it even arrived].
I received a letter about the Voltway [battery|frame|charger] recall. Is my bike affected?
My frame number is {frame}, could you check whether the recall programme [includes|covers] it?
The recall notice says to [stop riding|stop charging] the bike, so I [can't commute|walk] now.
I would rather return the {bike} [for a full refund|altogether] than wait for a new [battery|part].
How do I book the [collection|pickup] of the bike for the recall? It won't fit in a parcel.
The local bike shop told me to contact you directly about the [recall|battery replacement].
Will the recall also cover the spare battery I [bought separately|ordered later]?
I bought the {bike} as a [gift|present] for my [partner|daughter|father]. What about the recall?
We run [three|five|eight] Voltway Cargo bikes for [deliveries|our shop], so the recall hits us hard.
The [kickstand|rear rack|child seat mount] on the {bike} [came loose|snapped] during a normal ride.
The brakes on the {bike} [squeal|feel spongy] and the motor doesn't cut out when I brake.
I've only ridden it [a few times|about two hundred kilometres] and it's already [unsafe|unusable].
Will I get a replacement [bike|battery] or my money back under the recall programme?
""")  # fmt: skip
_ACKS = template_lines("""
Thanks for contacting the {team} about the Voltway recall[, and sorry for the trouble|].
Thank you for reaching out; your ticket is with the Voltway recall programme team.
I’m from the {team} and I handle the Voltway e-bike recall cases.
Your message has been passed to the Voltway recall team[ and I'm looking into it now|].
""")  # fmt: skip
_REPLIES = template_lines("""
Your {bike} is covered by the Voltway recall programme; please stop riding it until collection.
I’ve booked a free collection of the bike; the courier will contact you to arrange a time.
Once the bike is back with us we'll refund the full purchase price of {amount}.
Please don't charge the battery any more and keep it away from [heat|living areas] until collection.
Your frame number is on the recall list and a prepaid collection has been arranged.
After the inspection you can choose between a full refund and a replacement bike.
Any charges related to the e-bike will be refunded as part of the recall.
""")  # fmt: skip
_EPOCH = datetime(2026, 6, 1)  # the line launched mid-year; tickets stay within the base year


class _VoltwayWriter(_Writer):
    """The base writer plus the Voltway slots; {team} resolves to the returns queue's teams."""

    def slot(self, name: str) -> list[Seg]:
        rng = self.rng
        if name == "bike":
            return [(rng.choice(_BIKES), None)]
        if name == "part":
            return [(rng.choice(_PARTS), None)]
        if name == "frame":
            return [(f"AUR-{rng.choice('CTX')}{rng.randint(10**6, 10**7 - 1)}", None)]
        return super().slot(name)

    def subject(self, priority: str) -> list[Seg]:
        prefix = self.rng.choices(["", "Re: ", "Fwd: ", "URGENT: "], [80, 6, 4, 10])[0]
        if priority == "urgent" and self.rng.random() < 0.4:
            prefix = "URGENT: "
        return [(prefix, None), *self.render(self.rng.choice(_SUBJECTS))]

    def body(self, named_closer: bool = False) -> list[Seg]:
        rng = self.rng
        topic = rng.sample(_BODY, rng.randint(2, 5))
        pii_types = rng.sample(sorted(PII_TEMPLATES), rng.choices([0, 1, 2], [30, 45, 25])[0])
        chosen = [self.render(t) for t in topic]
        for kind in pii_types:
            pii = self.render(rng.choice(PII_TEMPLATES[kind]))
            chosen.insert(rng.randint(0, len(chosen)), pii)
        opener = self.render(rng.choice(OPENERS)) if rng.random() < 0.85 else []
        r = rng.random()
        closers = NAMED_CLOSERS if named_closer or r < 0.5 else CLOSERS
        closer = self.render(rng.choice(closers)) if named_closer or r < 0.9 else []
        spare = [t for t in _BODY if t not in topic] + FILLERS
        rng.shuffle(spare)

        def words() -> int:
            return sum(len(seg_text(p).split()) for p in [opener, closer, *chosen])

        while words() < 42 and spare:
            chosen.insert(rng.randint(0, len(chosen)), self.render(spare.pop()))
        # Trim from the end but keep at least three sentences, then drop the niceties.
        while words() > 108 and len(chosen) > 3:
            chosen.pop()
        if words() > 108:
            opener = []
        if words() > 108:
            closer = []
        cut = len(chosen) // 2 if len(chosen) >= 4 and rng.random() < 0.5 else len(chosen)
        parts = (
            [join_segs(chosen[:cut]), join_segs(chosen[cut:])]
            if chosen[cut:]
            else [join_segs(chosen)]
        )
        out: list[Seg] = []
        if opener:
            out += [*opener, ("\n\n" if seg_text(opener).endswith(",") else " ", None)]
        out += join_segs(parts, "\n\n")
        if closer:
            out += [("\n\n", None), *closer]
        return out

    def reply(self) -> list[Seg]:
        rng = self.rng
        extra = rng.sample(_REPLIES, rng.choices([1, 2], [55, 45])[0])
        text = join_segs([self.render(t) for t in [rng.choice(_ACKS), *extra]])
        greeting, sign = self.render(rng.choice(GREETINGS)), self.render(rng.choice(SIGNOFFS))
        return join_segs([greeting, text, sign], "\n\n")


def generate_product_line_tickets(n: int, seed: int = 0) -> list[GeneratedTicket]:
    """``n`` Voltway e-bike tickets, all in the ``returns`` queue; same seed, same output.

    Ids are ``TCK-9xxxxx`` so they never collide with ``generate_tickets``' ``TCK-1xxxxx``.
    """
    rng = random.Random(f"aurora-{seed}")  # a string seed: no overlap with the base stream
    step = 183 * 86400 / max(n, 1)
    max_gap = max(1, min(9, 95000 // max(n, 1)))  # keeps the id at six digits
    number = 900000 + rng.randint(0, 4000)
    tickets: list[GeneratedTicket] = []
    for i in range(n):
        number += rng.randint(1, max_gap)
        created = _EPOCH + timedelta(seconds=int(step * (i + 0.95 * rng.random())))
        cust = _new_customer(rng)
        priority = rng.choices(PRIORITIES, [10, 45, 30, 15])[0]
        w = _VoltwayWriter(rng, cust, QUEUE, created)
        segs: dict[str, list[Seg]] = {
            "ticket_id": [(f"TCK-{number}", None)],
            "created_at": [(created.isoformat(), None)],
            "customer_name": [(cust.name, "PERSON")],
            "customer_email": [(cust.email, "EMAIL_ADDRESS")],
            "customer_phone": [(cust.phone, "PHONE_NUMBER")],
            "customer_tier": [(cust.tier, None)],
            "region": [(cust.region, None)],
            "queue": [(QUEUE, None)],
            "priority": [(priority, None)],
            "subject": w.subject(priority),
            "body": w.body(rng.random() < 0.15),
            "agent_reply": w.reply(),
        }
        tickets.append(_finish(segs))
    return tickets

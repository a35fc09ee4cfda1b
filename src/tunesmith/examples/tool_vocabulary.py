"""Word lists and phrasings of the support-tools example (`support_tools.py`).

Slots in braces are filled by the generator: {order} an order id, {amount} a written amount,
{reason} a reason phrase, {address} a written address, {problem} a team's problem, {team} a
team's name. A template line may hold several templates separated by " / ".
"""

from __future__ import annotations


def _lines(block: str) -> list[str]:
    """One template per line; short templates may share a line, separated by " / "."""
    return [t.strip() for ln in block.strip().splitlines() for t in ln.split(" / ") if t.strip()]


PRODUCTS: list[tuple[str, float]] = [
    ("wireless mouse", 19.99), ("USB-C cable", 7.50), ("mechanical keyboard", 64.90),
    ("27-inch monitor", 179.00), ("laptop stand", 29.95), ("noise-cancelling headphones", 119.00),
    ("webcam", 45.00), ("desk lamp", 24.90), ("phone case", 12.99), ("power bank", 34.50),
    ("bluetooth speaker", 49.99), ("HDMI adapter", 14.25), ("office chair", 149.00),
    ("smartwatch strap", 9.90), ("e-reader", 99.00), ("coffee grinder", 39.90),
    ("water bottle", 15.00), ("yoga mat", 22.40), ("backpack", 54.00), ("travel mug", 11.60),
]  # fmt: skip
# names the PII recogniser does not take for a person's: Queen Street, Victoria Road, Oak
# Avenue, York, Bristol and London were masked as PERSON in calls, which broke their targets
STREETS = _lines("""
Mill Lane / High Street / Station Road / Church Street / Park Avenue / Green Lane / Manor Road
Kings Road / Riverside Walk / Elm Grove / New Road / Chapel Row / Market Place / School Lane
North Street / Mill Road / Church Lane / Park Road / Market Street / School Road
""")
CITIES: list[tuple[str, str]] = [
    ("Swansea", "SA"), ("Leeds", "LS"), ("Manchester", "M"), ("Coventry", "CV"), ("Plymouth", "PL"),
    ("Glasgow", "G"), ("Cardiff", "CF"), ("Leicester", "LE"), ("Brighton", "BN"),
    ("Norwich", "NR"), ("Oxford", "OX"), ("Sheffield", "S"), ("Southampton", "SO"),
    ("Exeter", "EX"), ("Nottingham", "NG"), ("Liverpool", "L"), ("Edinburgh", "EH"),
    ("Cambridge", "CB"),
]  # fmt: skip
ADDRESS_FORMATS = _lines("""
{street}, {city} {postcode} / {street}, {city}, {postcode} / {street}, {postcode} {city}
{street} in {city}, postcode {postcode} / {street}, {city} ({postcode})
""")
AMOUNT_FORMATS = ["£{v}", "£{v}", "{v} GBP", "GBP {v}", "{v} pounds", "£ {v}"]

GREETINGS = _lines("""
Hi, / Hello, / Hey, / Hi there, / Good morning, / Good afternoon, / Hiya, / Hello team,
Dear support, / Hi support, / Morning, / Evening,
""")
SIGNOFFS = _lines("""
Thanks. / Thank you! / Cheers. / Thanks in advance. / Many thanks. / Thx. / Ta. / Regards.
""")
# the customer's personal data in their message: the curate step masks it
IDENTITY = _lines("""
This is {name} ({email}). / My name is {name}, email {email}. / I'm {name}, {email}.
{name} here, my email is {email}. / Account email: {email} ({name}).
""")
SIGNATURES = ["— {name}, {email}", "{name} <{email}>", "Best, {name} ({email})", "{name}, {email}"]

LOOKUP = _lines("""
Where is my order {order}? / Can you check the status of {order}? / Has {order} shipped yet?
What's happening with order {order}? / Could you look up {order} for me?
I ordered something a while ago, the number is {order}. Where is it?
Any update on {order}? / Can you tell me where {order} is? / Is {order} on its way?
I'd like to know the status of my order {order}. / Please check order {order}.
my order {order} hasnt arrived yet, can you see where it is / When will {order} arrive?
Could you pull up the details of {order}? / What did I order on {order}? / Status of {order}?
""")
REFUND = _lines("""
Order {order} {reason}. Please refund {amount}.
I'd like a refund of {amount} for {order}, it {reason}.
My order {order} {reason}, so I want my {amount} back.
{order} {reason}. Can I get {amount} refunded?
Please refund {amount} on order {order} because it {reason}.
Refund {amount} for {order} please, it {reason}.
The parcel for {order} {reason}. I paid {amount} and would like that refunded.
Could you issue a refund of {amount} on {order}? It {reason}.
""")
REASONS: dict[str, list[str]] = {
    "damaged": _lines("""arrived damaged / arrived broken / came smashed
    was cracked when I opened it
    turned up with a dented box and a broken part / arrived in pieces"""),
    "late": _lines("""arrived two weeks late / came far too late
    was delivered a week after the date
    arrived late, after the event I needed it for / turned up ten days late"""),
    "wrong_item": _lines("""was the wrong item / contained the wrong product
    came in the wrong colour / had someone else's item in it
    arrived as a different model from the one I ordered"""),
    "not_delivered": _lines("""never arrived / still hasn't turned up / was never delivered
    shows as delivered but nothing came / went missing in the post"""),
}  # fmt: skip
# a refund request that leaves the amount to the order's total
REFUND_ALL = _lines("""
Order {order} {reason}. I'd like a refund. / My order {order} {reason}, can I get my money back?
{order} {reason}. Please refund me. / I want a refund for {order}, it {reason}.
The parcel for {order} {reason}, please refund it. / Can you refund order {order}? It {reason}.
""")
ESCALATE = _lines("""
{problem} on order {order}. Can you escalate this to {team}?
Please pass order {order} to {team}: {problem}.
{problem} ({order}). I need someone from {team} to look at it.
Order {order}: {problem}. Could a specialist take over? / {problem} with {order}, please escalate.
I've been going back and forth about {order}. {problem}. Please get {team} involved.
""")
TEAM_WORDS: dict[str, list[str]] = {
    "billing": ["billing", "the billing team", "your accounts team", "payments"],
    "shipping": ["shipping", "the shipping team", "the delivery team", "logistics"],
    "technical": ["technical support", "the tech team", "your technical team", "IT"],
}
PROBLEMS: dict[str, list[str]] = {
    "billing": _lines("""I was charged twice / The invoice shows the wrong amount
    My card was charged but the payment failed / The discount code wasn't applied
    I'm being billed for an item I returned / The VAT on the invoice looks wrong"""),
    "shipping": _lines("""The courier keeps failing to deliver / The tracking hasn't moved in a week
    The parcel was left at the wrong house / The delivery was sent to my old address
    The courier says the parcel is lost"""),
    "technical": _lines("""The order page crashes when I open it / I get an error when I try to pay
    The app shows the order twice / The tracking link gives a 500 error
    The download code in the order doesn't work"""),
}  # fmt: skip
# the priority a request asks for, by its wording; no cue is 'normal'
PRIORITY_CUES: dict[str, list[str]] = {
    "low": [
        "No rush.",
        "Whenever you get a chance.",
        "It's not urgent.",
        "Low priority, no hurry.",
    ],
    "normal": ["Thanks for looking into it.", "Normal priority is fine."],
    "high": ["Please treat this as high priority.", "I need this sorted soon.", "Fairly pressing."],
    "urgent": ["This is urgent!", "URGENT please.", "I need this today, it's urgent.", "Urgent."],
}
ADDRESS = _lines("""
Please change the delivery address of {order} to {address}.
I've moved: can {order} go to {address}?
Could you update the address on order {order}? It should be {address}.
Ship {order} to {address} instead, please. / New address for {order}: {address}.
I gave the wrong address for {order}. The right one is {address}.
Can you send order {order} to {address} rather than my old place?
""")
CANCEL = _lines("""
Please cancel order {order}. / I'd like to cancel {order}. / Cancel {order} please.
I changed my mind, can you cancel {order}? / I no longer need {order}, please cancel it.
I ordered {order} by mistake. Can you cancel it?
Could you stop order {order}? I don't want it anymore.
pls cancel {order} / Is it possible to cancel my order {order}?
""")
# fragments of one request, joined into a message that asks for several calls at once
CLAUSES: dict[str, list[str]] = {
    "lookup_order": ["look up {order}", "check on {order}", "tell me the status of {order}",
                     "see where {order} is"],
    "cancel_order": ["cancel {order}", "cancel order {order}", "stop {order}"],
    "issue_refund": ["refund {amount} on {order} (it {reason})",
                     "refund {order}, {amount}, as it {reason}"],
    "escalate": ["escalate {order} to {team}{prio} ({problem_lower})",
                 "pass {order} to {team}{prio}, {problem_lower}"],
    "update_address": ["change the address of {order} to {address}", "send {order} to {address}"],
}  # fmt: skip
JOIN_TWO = _lines("""
Could you {a} and {b}? / Please {a}, and also {b}. / Two things: {a}, and {b}.
Can you {a}? Also {b}, please. / I need you to {a} and {b}. / {A}, then {b}, please.
""")
JOIN_THREE = _lines("""
Please {a}, {b} and {c}. / Three things: {a}; {b}; and {c}. / Could you {a}, {b}, and also {c}?
""")
TWO_LOOKUPS = _lines("""
Where are my orders {o1} and {o2}? / Can you check {o1} and {o2}?
I have two orders, {o1} and {o2}. Have they shipped? / Status of {o1} and {o2} please.
""")

# requests no tool serves, and the desk's answer to each
IRRELEVANT: list[tuple[list[str], list[str]]] = [
    (_lines("""What are your opening hours? / When is the support desk open?
    Are you open on Sundays?
    What time do you close today?"""),
     ["We're open Monday to Friday, 9am to 6pm, and Saturday 10am to 2pm (UK time)."]),
    (_lines("""Thanks, that's all I needed! / Thank you so much for your help. / Great, cheers!
    Perfect, thanks a lot. / Order {order} arrived this morning, all fine. Thanks!"""),
     ["You're welcome! Is there anything else I can help with?", "Glad to help. Have a good day!"]),
    (_lines("""Is the {product} compatible with a Mac? / Does the {product} come with a warranty?
    Do you have the {product} in black? / How long does the {product} battery last?"""),
     ["I can only act on orders here; product details are on the product page, or ask our "
      "sales team at sales@example.com.", "Good question! The product page lists specs and "
      "warranty, and our sales team can help with anything it doesn't answer."]),
    (_lines("""How do I change my password? / I forgot my password, can you reset it?
    Can you change the email on my account? / Please delete my account."""),
     ["I can't change account settings from here. Use 'Forgot password' on the sign-in page, or "
      "Account > Settings once you're signed in.", "Account changes aren't something I can do; "
      "the Account > Settings page has them, and 'Forgot password' resets a password."]),
    (_lines("""Do you ship to Ireland? / How much is delivery to France?
    Do you deliver on Saturdays?
    What's your returns policy? / How long do I have to return something?"""),
     ["We deliver across the UK and EU; standard delivery takes 2-4 working days. Returns "
      "are free within 30 days of delivery.", "UK and EU delivery takes 2-4 working days, and "
      "you can return anything within 30 days."]),
    (_lines("""Can I pay with PayPal? / Do you take Apple Pay? / Can I pay in instalments?"""),
     ["We take cards, PayPal and Apple Pay at checkout; instalments are offered on orders "
      "over £100."]),
    (_lines("""Do you have any discount codes? / Is there a student discount?
    When is your next sale?"""),
     ["There's no code I can give here, but signing up to the newsletter gets you 10% off "
      "your next order."]),
]  # fmt: skip

PRIORITY_CLAUSES: dict[str, list[str]] = {
    "low": [" at low priority", " (no rush)"],
    "normal": ["", "", " at normal priority"],
    "high": [" as high priority", " with high priority"],
    "urgent": [" as urgent", " urgently"],
}
STATUS_WORDS = {"processing": "being prepared", "shipped": "on its way", "delivered": "delivered",
                "cancelled": "cancelled"}  # fmt: skip

# the assistant's last turn of a trajectory
DONE: dict[str, list[str]] = {
    "status": ["Order {order} is {status}. It's going to {street}, {city}.",
               "I've checked {order}: it is {status} ({items}).",
               "Your order {order} ({items}) is currently {status}."],
    "refund": ["Done: I've refunded £{amount} on {order}. It should reach you in 3-5 days.",
               "I've issued a refund of £{amount} for {order}. Sorry about that!",
               "Refund of £{amount} on {order} is on its way."],
    "address": ["Updated: {order} will now go to {street}, {city} {postcode}.",
                "The delivery address of {order} is now {street}, {city} {postcode}."],
    "cancel": ["Order {order} is cancelled; you won't be charged.",
               "I've cancelled {order}. Any payment will be returned within 5 days."],
    "escalated": ["{order} can't be changed from here ({why}), so I've passed it to our {team} "
                  "team (ticket {ticket}). They'll be in touch.",
                  "I've escalated {order} to {team} as ticket {ticket}: {why}. They'll contact "
                  "you soon."],
    "not_found": ["I couldn't find an order {order}. Could you check the number? It looks like "
                  "ORD- followed by six digits.",
                  "There's no order {order} on our side. Could you send me the right order "
                  "number?"],
}  # fmt: skip
CORRECTIONS = _lines("""
Sorry, my mistake, it's {order}. / Oops, the right number is {order}. / Try {order}, sorry.
""")

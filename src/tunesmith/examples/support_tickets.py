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
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

FIELDS: list[str] = ["ticket_id", "created_at", "customer_name", "customer_email",
                      "customer_phone", "customer_tier", "region", "queue", "priority", "subject",
                      "body", "agent_reply"]  # fmt: skip
QUEUES: list[str] = ["billing", "technical", "account", "shipping", "returns"]
PII_TYPES: list[str] = ["PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE",
                        "US_SSN", "IP_ADDRESS", "DATE_OF_BIRTH", "ACCOUNT_ID"]  # fmt: skip
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


Seg = tuple[str, str | None]  # (text, span type or None for plain text)


def _lines(block: str) -> list[str]:
    """One template per line; short templates may share a line, separated by " / "."""
    return [t.strip() for ln in block.strip().splitlines() for t in ln.split(" / ") if t.strip()]


_FIRST = """
James Oliver Emma Olivia Liam Noah Charlotte Amelia Harry George Jack Sophie Emily Thomas Daniel
Hannah Grace Lucy Michael Sarah Jessica Matthew Rachel David Laura José María Lucía Javier
Carmen Alejandro Sofía Diego Pablo Elena Raúl Mónica Ángel Begoña Iñaki Valentina Mateo Camila
Jürgen Anna Lukas Leonie Felix Katrin Stefan Sabine Matthias Johanna Björn Ute Klaus Chloé
François Thérèse Renée Amélie Léa Étienne Mathilde Julien Camille Hélène Benoît Zoé Giulia Marco
Francesca Alessandro Chiara Lorenzo Federica Matteo Giovanni Martina Sanne Daan Femke Joost
Lieke Bram Anouk Thijs Marloes Ruud Łukasz Małgorzata Paweł Agnieszka Krzysztof Zofia Wojciech
Katarzyna Tomasz Joanna Priya Arjun Ananya Rohan Aditi Vikram Sneha Rahul Kavya Aarav Deepika
Sanjay Wei Xiaoming Mei Jing Hao Yan Jun Xin Lei Haruto Yui Sota Aoi Ren Hina Takeshi Yuki Kenji
Sakura Chinedu Ngozi Emeka Adaeze Oluwaseun Folake Tunde Chiamaka Babajide Yetunde Mohammed
Fatima Ahmed Layla Omar Aisha Youssef Noor Karim Huda Emre Elif Mehmet Zeynep Burak Gülşen Çağrı
Öznur Can Ayşe Søren Håkon Ingrid Astrid Mikkel Sigrid Zoë Nadia Ivan Olga Dmitri Ana Tiago João
Inês Gonçalo
""".split()
_LAST = [s.replace("_", " ") for s in """
Smith Johnson Williams Brown Taylor Wilson Davies Evans Thomas Roberts Walker Wright Robinson
Thompson Clarke Hughes Edwards Green Hall Wood García Martínez López González Rodríguez
Fernández Pérez Sánchez Gómez Núñez Jiménez Ruiz Díaz Moreno Álvarez Castillo Ortega Romero
Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schröder Weiß Krüger
Zimmermann Braun Martin Bernard Dubois Durand Lefèvre Moreau Laurent Girard Rousseau Fontaine
Bonnet Mercier Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno
Conti Jansen Bakker Visser Smit Meijer de_Vries van_Dijk van_den_Berg Mulder Bos Kowalski Nowak
Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski Zieliński Szymański Dąbrowski Sharma Patel
Singh Kumar Gupta Reddy Iyer Nair Mehta Desai Rao Chatterjee Wang Zhang Liu Chen Yang Huang Zhao
Wu Zhou Xu Sato Suzuki Takahashi Tanaka Watanabe Ito Yamamoto Nakamura Kobayashi Kato Okafor
Adeyemi Okonkwo Balogun Eze Nwosu Adebayo Obi Ogunleye Chukwu Al-Sayed Haddad Khalil Mansour
Nasser Hassan Farouk Aziz Rahman El-Amin Yılmaz Kaya Demir Şahin Çelik Öztürk Aydın Arslan Doğan
Koç Andersen Nielsen Johansson Lindqvist Håkansson Dvořák Novák Silva Santos Ferreira Costa
Ivanova
""".split()]  # fmt: skip
_ACCENTED_FIRST = [name for name in _FIRST if not name.isascii()]

_REGIONS = ["EU", "NA", "APAC", "LATAM"]
_TIERS = ["free", "pro", "enterprise"]
_PRIORITIES = ["low", "normal", "high", "urgent"]
_DOMAINS = """example.com example.org mail.co.uk firma.de company.io gmail.com outlook.com yahoo.fr
web.de libero.it ziggo.nl wp.pl proton.me icloud.com northwind.io contoso.com acme-corp.com
rediffmail.com yahoo.co.jp uol.com.br""".split()
_EMAIL_TAGS = ["billing", "support", "work", "orders", "tickets"]
# '#' = any digit, 'N' = digit 2-9.  All patterns follow libphonenumber's numbering plans.
_PHONES: dict[str, list[str]] = {
    "EU": ["+44 20 7946 0###", "(020) 7946 0###", "+44 7400 ######", "+44 161 496 0###",
           "+49 30 901820", "+49 30 9018####", "+49 151 ########", "+33 1 42 68 53 00",
           "+33 1 4# ## ## ##", "+33 6 1# ## ## ##", "+34 91N ### ###", "+34 6## ### ###",
           "+39 06 6988 ####", "+39 3N# ### ####", "+31 20 N## ####", "+31 6 1#######",
           "+48 22 N## ## ##", "+48 60# ### ###"],
    "NA": ["+1 (415) 555-01##", "415-555-01##", "(212) 555-01##", "+1 646-555-01##",
           "+1 312 555 01##", "+1 (416) 555-01##"],
    "APAC": ["+91 98765 4####", "+91 9#### #####", "+91 22 2### ####", "+81 3-N###-####",
             "+81 90-N###-####", "+61 2 9### ####", "+61 41# ### ###", "+65 62## ####",
             "+65 91## ####"],
    "LATAM": ["+55 11 9N###-####", "+52 55 N### ####", "+54 11 4###-####", "+57 31# ### ####"],
}  # fmt: skip
_COMPANIES = _lines("""
Northwind Traders / Bluepeak Analytics / Helios Energía / Café Lumière / Fjordline Logistics
Sakura Design Studio / Kilimanjaro Foods / Brightwave Media / Quantix Labs / Andes Outdoor
Maple & Birch Interiors / Solaris Health / Tidewater Marine / Vireo Software / Atelier Rêve
""")
_PLAIN: dict[str, list[str]] = {
    "company": _COMPANIES,
    "product": ["DeskHub docking station", "CloudSync desktop app", "Pulse headset",
                "Nimbus router", "Atlas standing desk", "Orbit webcam", "Lumen monitor",
                "Vector keyboard", "Relay mobile app", "Beacon tracker"],
    "plan": ["Starter", "Pro", "Business", "Enterprise"],
    "carrier": ["DHL", "UPS", "FedEx", "Royal Mail", "Correos", "PostNL", "La Poste", "InPost"],
}  # fmt: skip
_TEAMS: dict[str, list[str]] = {
    "billing": ["billing team", "Billing & Payments team", "billing department"],
    "technical": ["technical support team", "tech support team", "engineering support team"],
    "account": ["account team", "accounts team", "account management team"],
    "shipping": ["shipping team", "logistics team", "delivery team"],
    "returns": ["returns team", "returns desk", "returns and refunds team"],
}
_MONTHS = """January February March April May June July August September October November
December""".split()
_DATE_FORMATS = ["{Y}-{m:02d}-{d:02d}", "{d:02d}/{m:02d}/{Y}", "{m:02d}/{d:02d}/{Y}",
                 "{M} {d}, {Y}", "{d} {M} {Y}", "{d:02d}.{m:02d}.{Y}"]  # fmt: skip

# Templates: [a|b|c] picks one alternative, {slot} is filled (and recorded when it is a span).
_SUBJECTS: dict[str, list[str]] = {q: _lines(b) for q, b in zip(QUEUES, ["""
Charged twice this month / Wrong amount on my invoice / Refund for order {order}
Invoice of {amount} is incorrect / Question about my [bill|latest invoice]
Payment failed with {error} / VAT number missing on invoice / Cancel subscription and refund
Annual discount not applied / Unexpected charge on [my card|our account]
Billing issue for account {acct}
""", """
App crashes after update to {version} / [Error|Getting] {error} when syncing
API returning {error} since [this morning|yesterday] / Dashboard extremely slow / SSO login broken
CSV export cut off / Bug in the {product} / Push notifications not working / Webhook timeouts
Installer fails on {version}
""", """
Cannot log in [anymore|to my account] / Account locked / Change the email on my account
Please delete my account / Transfer workspace ownership / 2FA codes not arriving
Suspicious login on {acct} / Merge duplicate accounts / Invitation link expired
Account downgraded without notice
""", """
Where is my order {order}? / Package [not delivered|never arrived] / Wrong item received
Damaged parcel / Change delivery address / Customs fee of {amount}? / Tracking not updating
Missing items in order {order} / Express delivery request / Delivered to the wrong address
""", """
Return request for {sku} / Refund not received for order {order} / Return label not working
Exchange for a different size / Restocking fee of {amount} / Faulty item return
Question about the return window / Only a partial refund / RMA number needed / Cancel my return
"""], strict=True)}  # fmt: skip
_BODY: dict[str, list[str]] = {q: _lines(b) for q, b in zip(QUEUES, ["""
I was charged {amount} [twice|two times|a second time] this month for the same [subscription|plan].
My invoice for [March|April|last month] shows {amount}, but our plan should only cost {amount}.
The payment for order {order} went through on {date}, yet [your portal|the app] says it is unpaid.
We upgraded to the {plan} plan on {date} and the prorated charge of {amount} looks wrong to me.
Could you [please |]send me a corrected invoice with our VAT number [on it|included]?
Our finance team can’t reconcile the [credit note|refund|adjustment] of {amount} with any invoice.
The checkout page keeps failing with {error} when I try to pay [by card|with PayPal|by transfer].
I cancelled the trial [before it ended|on time|two days early], so why was I billed at all?
[Please|Kindly] explain the line item “[platform fee|service charge|usage overage]” on my statement.
We were promised a [twenty|fifteen|ten] percent discount for annual billing, but never got it.
The currency on my account is wrong; I should be billed in [euros|pounds], not in [dollars|yen].
Our PO number must appear on every invoice, [otherwise|or else] accounts payable will reject it.
I need a receipt for order {order} for my expense report[ by Friday| before the end of the month|].
Since {date} every renewal attempt has been declined, even though the card works everywhere else.
The annual renewal of {amount} came out of the wrong account [this morning|yesterday|last night].
Is it possible to switch [from monthly to yearly|to annual] billing without losing [our|the] credit?
We added [three|five|two] seats last week but the invoice still lists the old number of users.
The [tax|VAT] on this invoice seems to be calculated at the wrong rate for [our country|Ireland].
Your system sent [four|three|several] payment reminders for an invoice that was settled weeks ago.
I would like a refund of the {amount} overcharge rather than store credit.
Half of our team now uses the free tier, so please [downgrade|cancel] the [spare|unused] licences.
The PDF invoice won't open and the download link returns {error}.
Please confirm whether the direct debit mandate we signed [in spring|last year] is still active.
We need the billing contact moved to our new [accounts payable|finance] mailbox [going forward|now].
The amount in the confirmation email ("{amount}") does not match what my bank actually took.
Can you split the charges across two cost centres, as we discussed [last quarter|earlier]?
""", """
Since updating to {version} the app crashes [on startup|when I open a report|after a few seconds].
The nightly sync job fails with {error} [every time|about half the time|as soon as it starts].
I’ve already tried clearing the cache, reinstalling and rebooting, [but nothing helped|no luck].
Our integration started returning {error} from the API around {date}.
The dashboard takes more than [thirty seconds|a minute|two minutes] to load, so it’s unusable.
Exports to CSV are cut off after roughly [ten thousand|five thousand|two thousand] rows.
We are running the {product} on {version} under [Windows|macOS|Ubuntu|a Linux server].
The mobile app on {version} logs me out every time I switch between [wifi and mobile data|networks].
Push notifications stopped arriving on [Android|iOS|both Android and iOS] after the last release.
When I click “[Save|Publish|Sync now]” nothing happens and the spinner just keeps going.
The webhook deliveries to our endpoint time out with {error}, although the server is up.
Single sign-on with [Okta|Azure AD|Google Workspace] broke after your maintenance window on {date}.
Our [firewall|network|security] team wants the list of IP ranges your [service|platform] uses.
Search results are missing documents that were uploaded [yesterday|this week|after the migration].
The driver for the {product} fails to install and reports {error}.
I can reproduce it reliably: open a project, add an attachment, then press [undo|back|refresh].
The desktop client uses [most of the CPU|a huge amount of memory] while idle in the background.
Two-factor codes [arrive several minutes late|arrive after they have expired|never arrive].
The offline mode on {version} overwrites edits made by colleagues once we reconnect.
Our logs show the same {error} repeated [hundreds of|thousands of|dozens of] times per hour.
Everything worked fine on {version}, so we suspect the regression came with the newest update.
The embedded charts render as blank boxes, but only in [Firefox|Safari|Chrome|Edge].
Is there a workaround we can [apply|use] until a [proper|permanent] fix is [released|shipped]?
The API rate limit seems [much|far] lower than the one [documented|advertised] for our plan.
Some uploaded images show up rotated or [completely black|pixelated|cropped] in the preview.
We can't roll back, because the [installer|package] for the older build is [gone|no longer online].
""", """
I can't log in [anymore|since this morning|since the reset] and the reset email never arrives.
Please [merge|combine] my two accounts, since I accidentally signed up twice with two addresses.
My account was locked after [too many|several] failed logins and I need access [urgently|today].
I [want|need] to change the email on the account, as I [no longer have access to|lost] the old one.
Please [delete|erase] my account and all [associated|related] data, as is my right under GDPR.
We need to transfer ownership of the workspace to [another admin|my manager] before I leave.
The profile shows the wrong [company name|job title|time zone] and the field is [greyed out|locked].
Since {date} I no longer receive the two-factor codes on my phone.
Our workspace was downgraded to the free tier without any warning on {date}.
Could you [please |]add two more administrators to our organisation?
I suspect someone else [logged into|used] my account, [because|as] I see sessions I don’t recognise.
The invitation link for new team members says it has expired[ even though I just sent it|].
After the migration on {date} all of my saved settings and filters were reset.
How can I export all of my [data|projects|files] before [closing|cancelling] the account for good?
I [changed|lost] my phone and [lost|no longer have] the authenticator app, so I can't log in.
The account still shows the {plan} plan even though we upgraded [last week|yesterday|on Monday].
I’d like to rename our workspace from [“Test”|“Old team”|“Trial”] to our real company name.
Every time I update my [notification|privacy] preferences they [quietly revert|reset] after a day.
Our [security|compliance] team needs written confirmation of which personal data you [store|hold].
Please reactivate the account I deactivated by mistake [last Tuesday|over the weekend].
The login page returns {error} when I use the single sign-on button.
My [username|display name] still shows my maiden name and I would like it [updated|fixed].
The verification email went to [spam|junk] and the link [inside|in it] had already expired.
I need read-only access for an external auditor for the next [two weeks|month|quarter].
We still pay for seats assigned to people who left [the company|us] [months ago|last year].
The interface switched to [German|Spanish|Japanese] on its own after the update to {version}.
I was still charged {amount} for a seat that I removed on {date}.
After I renamed the workspace our API keys stopped working and return {error}.
Since the update to {version} the password manager no longer fills in the login form.
""", """
My order {order} was supposed to arrive on {date}, but the tracking page hasn't updated since.
The parcel was marked as delivered, but nobody [in our building|at our office|here] received it.
I ordered {sku} and received a completely different [item|product|model].
The courier [left the box outside in the rain|damaged the package|came while we were closed].
Can you change the delivery address for order {order} before it ships?
The shipping fee of {amount} seems very high for such a small package.
Two items from order {order} are missing from the box; only the {sku} was inside.
Tracking says the shipment is held at customs and asks for an import duty of {amount}.
Could you [please |]upgrade this delivery to express? I really need it by {date}.
The box arrived crushed and the {product} inside is [cracked|dented|scratched].
The estimated delivery date keeps moving back [every day|without explanation|each time I check].
I received [two|three] identical parcels for a single order and only paid once.
Your website said “in stock”, but now the order shows a backorder date of {date}.
The carrier {carrier} claims the address is incomplete even though it’s the same as always.
We need the packing slip to [include|show] our internal reference for the [warehouse|goods-in] team.
Is it possible to combine my [two|three] open orders into [a single|one] shipment to save on fees?
The tracking number you [emailed|sent] me [belongs to|is for] someone else's parcel.
Our loading dock only accepts deliveries [before noon|in the morning], please tell the driver.
I was charged {amount} for shipping although the order qualified for free delivery.
The [pallet|shipment] was delivered to our old [warehouse|office] instead of the new one.
Please confirm whether {sku} ships from the EU warehouse or from the US.
The delivery notification came [late at night|at midnight] and the courier never [showed up|came].
Part of the order shipped on {date} and the rest has no tracking information at all.
Can you hold the shipment until I’m back from [holiday|a business trip] [next week|on Monday]?
The package went back to the sender because the driver couldn't find [our entrance|the building].
I need a proof of delivery with a signature for [our insurance claim|the insurer|our auditors].
""", """
I’d like to return {sku} because it doesn’t fit [as expected|at all|properly].
I sent the return for order {order} back on {date} and still haven't received my refund of {amount}.
The return label in the email doesn't work, the carrier’s scanner [keeps rejecting|won’t read] it.
The item arrived [faulty|broken|damaged], so I expect you to cover the return shipping.
Your portal says order {order} is outside the return window, but it came [ten|eight] days ago.
Can I exchange the {sku} for a different size instead of getting a refund?
The refund came as store credit even though I asked for the money back [on my card|by transfer].
I returned [two|three|four] items but the refund only covers one of them.
The restocking fee of {amount} was never mentioned when I bought the item.
Please send a prepaid label, I don't have a printer [at home|here|at the moment].
The replacement you sent has exactly the same defect as the original {product}.
The warehouse confirmed receipt on {date}, so why is the refund still pending?
I was refunded {amount} instead of the full {amount} that I paid.
The [product|item] was a gift, so I would like a gift receipt and [an exchange|a swap].
Can I drop the return off at a [local shop|parcel locker] instead of booking a pickup?
I opened the box but never [used|wore|switched on] it, it’s still in the original packaging.
Your policy page says “free returns within thirty days” but I [was charged|paid] for the label.
The courier picked up the return [a week|two weeks|ten days] ago and tracking shows nothing since.
Please cancel my return request, I've decided to keep the [item|jacket|order] after all.
The {sku} I ordered is missing parts, so I want to send the whole set back.
I need an RMA number before our [IT department|warehouse] will ship the faulty units back.
The refund appeared on my statement as {amount}, which is less than the price on the invoice.
Our [company|security] policy requires written confirmation that returned devices were wiped.
How long does a refund [usually|normally] take to show up after the item is [inspected|received]?
The return form won't accept the order number and throws {error}.
Half of the [chairs|monitors|headsets|keyboards] in the delivery were the wrong colour.
"""], strict=True)}  # fmt: skip
_FILLERS = _lines("""
This is [quite|very|really] urgent for us because [our whole team is blocked|a client is waiting].
I have attached [a screenshot|a photo|the relevant document] for reference.
This has happened [twice|three times|several times] now and it is getting frustrating.
Please let me know if you need any more details from my side.
I would appreciate a quick answer, as we [rely on your service every day|are deciding on renewal].
We have been [loyal customers|customers] for years and this has never happened before.
""")  # fmt: skip
_PII_TEMPLATES: dict[str, list[str]] = {t: _lines(b) for t, b in zip(PII_TYPES, ["""
My colleague {other} [reported the same problem|ran into this too] [last week|this morning].
I already spoke to {ofirst} [yesterday|on the phone] but the issue is still open.
I’m writing on behalf of our customer {other}, who [asked me to follow up|is still waiting].
Please copy {other} from our [finance|IT|operations] team on any reply.
{ofirst} from your team promised a call back that never happened.
""", """
You can reach me at {email} [at any time|during office hours|if anything is unclear].
Please send [the confirmation|all updates|the documents] to {oemail} [as well|instead].
My login email is {email}, in case you need to look me up.
Your notifications still go to {oemail}, which [is an old address|is no longer monitored].
""", """
Please call me back on {phone}[ after lunch| in the morning| today|].
My [mobile|direct line|phone number] is {phone}.
If it’s easier, ring me on {phone} and we can sort it out.
The SMS codes should go to {phone}, and that number is definitely correct.
""", """
The charge appeared [twice|two times] on my card {card}.
I paid with [my Visa|my Mastercard|the company card|my credit card] {card}, please refund it there.
For reference, the card number is {card} and it expires next year.
Please remove the card {card} from my profile, it was [stolen|cancelled|replaced].
""", """
Please refund the money to my bank account {iban}.
Our direct debit should use IBAN {iban} from now on.
I transferred the amount from {iban} [last week|on Monday|yesterday].
The IBAN on file ({iban}) is [outdated|wrong|closed], please update it.
""", """
For the tax form you asked for my SSN, which is {ssn}.
My social security number is {ssn} if you need it for verification.
The W-9 form lists SSN {ssn} for my sole proprietorship.
Your agent asked for my social security number ({ssn}), I hope this is secure.
""", """
My IP is {ip} in case you need to check the logs.
The failed logins came from {ip}, which is not one of our addresses.
Our server at {ip} can't reach your API [at all|anymore].
Please whitelist {ip} for our office network.
""", """
My date of birth is {dob}, if you need to verify my identity.
For verification, DOB: {dob}.
I was born on {dob}, but the form keeps rejecting it.
The profile shows my birthdate {dob} in the wrong format.
""", """
My account number is {acct}.
This concerns account {acct}[ on the {plan} plan|].
The customer reference on my invoices is {acct}.
Please check account {acct} and the linked workspace.
"""], strict=True)}  # fmt: skip
_PII_WEIGHTS: dict[str, list[int]] = {  # per queue, in PII_TYPES order
    "billing": [2, 2, 2, 3, 3, 2, 1, 1, 2], "technical": [2, 2, 2, 1, 1, 1, 4, 1, 2],
    "account": [2, 2, 2, 1, 1, 2, 2, 3, 3], "shipping": [2, 2, 3, 2, 1, 1, 1, 1, 1],
    "returns": [2, 2, 2, 3, 3, 1, 1, 1, 1],
}  # fmt: skip
_OPENERS = _lines("""
Hello, / Hi, / Hi there, / Dear Support, / Good morning, / Good afternoon, / Hello support team,
To whom it may concern, / Hi, my name is [{name}|{first}].
Hello, my name is {first} and I [manage|look after] the account for {company}.
This is {name} from {company}. / Hi, this is {first} from {company}.
Hi {ofirst}, following up on our call[ yesterday| last week|].
Dear team, this is {name} [again|writing about an ongoing problem].
""")  # fmt: skip
_CLOSERS = _lines("""
Thanks. / Thanks in advance. / Thank you! / Thanks for your help. / Looking forward to your reply.
Sent from my phone
""")  # fmt: skip
_NAMED_CLOSERS = ["Regards, {first}", "Best regards,\n{name}", "Kind regards,\n{name}\n{company}",
                  "Cheers,\n{first}", "Thanks,\n{first}", "Many thanks, {name}",
                  "Regards,\n{name}"]  # fmt: skip
_ACKS = _lines("""
Thanks for contacting the {team}[, and sorry for the trouble|].
Thank you for reaching out to our {team}. / I’m from the {team} and I've picked up your ticket.
Your request has been passed to the {team}[ and I'm looking into it now|].
Thanks for your patience while the {team} reviewed this.
""")  # fmt: skip
_REPLIES: dict[str, list[str]] = {q: _lines(b) for q, b in zip(QUEUES, ["""
I’ve issued a refund of {amount}, which should appear within five business days.
The duplicate charge has been reversed on our side.
A corrected invoice is attached to this message.
I’ve applied the missing discount to your next renewal.
Could you send us the invoice number so we can check it?
""", """
Our engineers have reproduced the issue and a fix is planned for {version}.
Please update to {version} and let us know if the problem persists.
Could you send us the log files from the affected machine?
This is a known issue and we’ll notify you once it is resolved.
The failures ({error}) were caused by an outage on our side that is now fixed.
""", """
I’ve unlocked your account and sent a new password reset link.
For security reasons we need the request to come from the account owner.
Your two accounts have been merged and all of your data is preserved.
The ownership transfer has been completed.
Your deletion request will be processed within thirty days.
""", """
I’ve contacted the carrier and opened an investigation for order {order}.
A replacement has been dispatched and should arrive by {date}.
The delivery address has been updated.
Unfortunately the parcel is already with the courier, so we can't change it anymore.
I’ve refunded the shipping fee of {amount}.
""", """
Your refund of {amount} has been approved and will reach your account within a week.
I’ve attached a new prepaid return label.
We’ve made an exception and extended the return window for you.
Once the warehouse inspects the item we’ll process the exchange.
Your RMA number is attached, please write it on the box.
"""], strict=True)}  # fmt: skip
_GREETINGS = ["Hi {first},", "Hi {first},", "Hello {first},", "Dear {first},"]
_SIGNOFFS = ["Best regards, {agent}", "Best regards,\n{agent}", "Kind regards,\n{agent}",
             "Best,\n{agent}", "Many thanks, {agent}"]  # fmt: skip
_SHORT_BODIES = ["help", "Help!!", "call me", "refund please", "not working", "any update?",
                 "see attached", "urgent pls", "it broke again", "???"]  # fmt: skip
_NEAR_FILLERS = ["really", "just", "also", "still"]  # inserted after "I " / "we " / "it "
_NEAR_GAP_RE = re.compile(r"\b(?:I|[Ww]e|[Ii]t) (?=[a-z])")

_SLOT_RE = re.compile(r"\{(\w+)\}")
_ALT_RE = re.compile(r"\[([^\[\]]*)\]")
_LOOK_SLOT_RE = re.compile(r"\{(order|sku|version|amount|date|error)\}")
_PII_SET = frozenset(PII_TYPES)
_EPOCH = datetime(2026, 1, 1)
_ASCII_MAP = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "ß": "ss", "ı": "i", "æ": "ae"})


def _digits(rng: random.Random, k: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(k))


def _ascii(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.translate(_ASCII_MAP))
    return re.sub(r"[^a-z0-9]", "", text.encode("ascii", "ignore").decode().lower())


def _email(rng: random.Random, first: str, last: str) -> str:
    f, s = _ascii(first), _ascii(last)
    local = rng.choice([f"{f}.{s}", f"{f[0]}.{s}", f"{f}{s}{rng.randint(1, 99)}", f"{s}.{f}",
                        f"{f}+{rng.choice(_EMAIL_TAGS)}", f"{f}_{s}",
                        f"{f[0]}{s}{rng.randint(70, 99)}"])  # fmt: skip
    return f"{local}@{rng.choice(_DOMAINS)}"


def _phone(rng: random.Random, region: str) -> str:
    pattern = rng.choice(_PHONES[region])
    return "".join(str(rng.randrange(10)) if ch == "#" else str(rng.randint(2, 9)) if ch == "N"
                   else ch for ch in pattern)  # fmt: skip


def _luhn_digit(partial: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(partial)):
        v = int(ch) * (2 if i % 2 == 0 else 1)
        total += v - 9 if v > 9 else v
    return str((10 - total % 10) % 10)


def _card(rng: random.Random) -> list[Seg]:
    groups: tuple[int, ...] = (4, 4, 4, 4)  # Visa (4...) or Mastercard (51-55...), 16 digits
    kind = rng.randrange(3)
    if kind == 2:  # American Express, 15 digits grouped 4-6-5
        partial, groups = rng.choice(["34", "37"]) + _digits(rng, 12), (4, 6, 5)
    else:
        prefix = "4" if kind == 0 else f"5{rng.randint(1, 5)}"
        partial = prefix + _digits(rng, 15 - len(prefix))
    number, parts, pos = partial + _luhn_digit(partial), [], 0
    for g in groups:
        parts.append(number[pos : pos + g])
        pos += g
    return [(rng.choice([" ", " ", "-", ""]).join(parts), "CREDIT_CARD")]


def _mod11_es(digits: str) -> str:
    weights = [1, 2, 4, 8, 5, 10, 9, 7, 3, 6]
    r = 11 - sum(int(c) * w for c, w in zip(digits, weights, strict=True)) % 11
    return str({11: 0, 10: 1}.get(r, r))


def _cin_it(bban: str) -> str:
    odd = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25]
    total = sum(odd[int(c)] if i % 2 == 0 else int(c) for i, c in enumerate(bban))
    return chr(65 + total % 26)


def _iban(rng: random.Random) -> list[Seg]:
    cc = rng.choice(["DE", "GB", "FR", "NL", "ES", "IT"])
    if cc == "DE":
        bban = _digits(rng, 18)
    elif cc == "GB":
        bban = rng.choice(["NWBK", "BARC", "HBUK", "LOYD", "MIDL"]) + _digits(rng, 14)
    elif cc == "FR":  # bank, branch, account, RIB key
        bank, branch, acct = _digits(rng, 5), _digits(rng, 5), _digits(rng, 11)
        key = 97 - (89 * int(bank) + 15 * int(branch) + 3 * int(acct)) % 97
        bban = f"{bank}{branch}{acct}{key:02d}"
    elif cc == "NL":  # bank code + account passing the Dutch 11-test
        acct = _digits(rng, 10)
        while sum(int(c) * (10 - i) for i, c in enumerate(acct)) % 11:
            acct = _digits(rng, 10)
        bban = rng.choice(["ABNA", "INGB", "RABO", "TRIO", "SNSB"]) + acct
    elif cc == "ES":  # bank, branch, two national check digits, account
        bank, acct = _digits(rng, 8), _digits(rng, 10)
        bban = bank + _mod11_es("00" + bank) + _mod11_es(acct) + acct
    else:  # IT: CIN check letter, ABI, CAB, account
        rest = _digits(rng, 22)
        bban = _cin_it(rest) + rest
    check = 98 - int("".join(str(int(c, 36)) for c in bban + cc + "00")) % 97
    iban = f"{cc}{check:02d}{bban}"
    if rng.random() < 0.6:
        iban = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
    return [(iban, "IBAN_CODE")]


def _ssn(rng: random.Random) -> list[Seg]:
    area = rng.choice([rng.randint(1, 665), rng.randint(667, 899)])
    sep = "-" if rng.random() < 0.85 else " "
    return [(f"{area:03d}{sep}{rng.randint(1, 99):02d}{sep}{rng.randint(1, 9999):04d}", "US_SSN")]


def _ip(rng: random.Random) -> list[Seg]:
    def h() -> str:
        return f"{rng.randint(1, 0xFFFF):x}"

    if rng.random() < 0.25:
        forms = [f"2001:db8:{h()}:{h()}::{h()}:{h()}", f"2001:db8:{h()}:0:0:{h()}:{h()}:{h()}",
                 f"fe80::{h()}:{h()}:{h()}:{h()}"]  # fmt: skip
        return [(rng.choice(forms), "IP_ADDRESS")]
    if rng.random() < 0.5:
        prefix = rng.choice(["203.0.113", "198.51.100", "192.0.2", "192.168.1", "10.20.30"])
    else:
        first = rng.choice([23, 31, 46, 62, 77, 81, 85, 91, 94, 109, 151, 176, 185, 212, 217])
        prefix = f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}"
    return [(f"{prefix}.{rng.randint(2, 254)}", "IP_ADDRESS")]


def _order(rng: random.Random) -> list[Seg]:
    kind = rng.randrange(4)
    if kind == 0:
        return [("#", None), (str(rng.randint(10**7, 10**8 - 1)), "ORDER_ID")]
    if kind == 1:
        return [(f"ORD-2026-{rng.randint(100000, 999999)}", "ORDER_ID")]
    if kind == 2:
        return [("number ", None), (str(rng.randint(10**9, 10**10 - 1)), "ORDER_ID")]
    return [(str(rng.randint(10**8, 10**9 - 1)), "ORDER_ID")]


def _sku(rng: random.Random) -> list[Seg]:
    prefix = rng.choice(["BX", "KB", "HD", "TR", "MN", "DS"])
    kind = rng.randrange(3)
    if kind == 0:
        size = rng.choice(["XS", "S", "M", "L", "XL", "XXL"])
        return [(f"SKU-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}-{size}", "SKU")]
    if kind == 1:
        colour = rng.choice(["RED", "BLK", "WHT", "BLUE", "GRY"])
        return [("item ", None), (f"{prefix}-{rng.randint(1000, 9999)}-{colour}", "SKU")]
    return [("article ", None), (f"{prefix}{rng.randint(100, 999)}-{rng.randint(10, 99)}", "SKU")]


def _version(rng: random.Random) -> list[Seg]:
    v = f"{rng.randint(1, 12)}.{rng.randint(0, 20)}.{rng.randint(0, 40)}"
    kind = rng.randrange(4)
    if kind == 0:
        return [(f"v{v}", "VERSION")]
    if kind == 2:
        v = f"{rng.randint(10, 24)}.{rng.randint(0, 9)}.{rng.randint(1000, 29999)}"
    return [(["version ", "", "build ", "release "][kind], None), (v, "VERSION")]


def _amount(rng: random.Random) -> list[Seg]:
    whole = rng.choice([rng.randint(5, 150), rng.randint(150, 2500)])
    v = whole + rng.choice([0, 50, 99, 95, rng.randint(1, 98)]) / 100
    kind = rng.randrange(6)
    if kind == 3:
        text = f"{v:,.2f}".translate(str.maketrans(",.", ".,")) + rng.choice([" EUR", " €"])
    else:
        text = ["${:,.2f}", "€{:,.2f}", "£{:,.2f}", "", "EUR {:,.2f}", "USD {:,.2f}"][kind]
        text = text.format(v)
    return [(text, "AMOUNT")]


def _error(rng: random.Random) -> list[Seg]:
    kind = rng.randrange(4)
    if kind == 0:
        return [(f"ERR_0x{rng.randint(0x80000000, 0x8007FFFF):08X}", "ERROR_CODE")]
    if kind == 1:
        return [(f"E-{rng.randint(1000, 9999)}", "ERROR_CODE")]
    if kind == 2:
        code = rng.choice([400, 401, 403, 404, 408, 409, 429, 500, 502, 503, 504])
        return [(f"HTTP {code}", "ERROR_CODE")]
    return [("error ", None), (f"0x{rng.randint(0x80070000, 0x800700FF):08X}", "ERROR_CODE")]


_GENERATORS: dict[str, Callable[[random.Random], list[Seg]]] = {
    "card": _card, "iban": _iban, "ssn": _ssn, "ip": _ip, "order": _order, "sku": _sku,
    "version": _version, "amount": _amount, "error": _error,
    "acct": lambda rng: [(f"ACC-{rng.randint(100000, 999999)}", "ACCOUNT_ID")],
}  # fmt: skip


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
    first = rng.choice(_ACCENTED_FIRST if accented else _FIRST)
    last = rng.choice(_LAST)
    region = rng.choices(_REGIONS, weights=[40, 30, 20, 10])[0]
    tier = rng.choices(_TIERS, weights=[45, 35, 20])[0]
    return _Customer(first, last, _email(rng, first, last), _phone(rng, region), tier, region)


def _text(segs: list[Seg]) -> str:
    return "".join(t for t, _ in segs)


def _join(parts: list[list[Seg]], sep: str = " ") -> list[Seg]:
    out: list[Seg] = []
    for i, part in enumerate(parts):
        if i:
            out.append((sep, None))
        out.extend(part)
    return out


def _format_date(rng: random.Random, d: date) -> str:
    return rng.choice(_DATE_FORMATS).format(Y=d.year, m=d.month, d=d.day, M=_MONTHS[d.month - 1])


class _Writer:
    """Fills templates for one ticket, keeping every slot as its own (recorded) segment."""

    def __init__(self, rng: random.Random, cust: _Customer, queue: str, created: datetime) -> None:
        self.rng, self.cust, self.queue, self.created = rng, cust, queue, created
        self.agent = rng.choice(_FIRST)

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
        if name in _GENERATORS:
            return _GENERATORS[name](rng)
        if name in _PLAIN:
            return [(rng.choice(_PLAIN[name]), None)]
        if name == "team":
            return [(rng.choice(_TEAMS[self.queue]), None)]
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
            return [(_email(rng, cust.first, cust.last) if other else cust.email, "EMAIL_ADDRESS")]
        if name == "oemail":
            return [(_email(rng, rng.choice(_FIRST), rng.choice(_LAST)), "EMAIL_ADDRESS")]
        if name == "phone":
            other = rng.random() < 0.4
            return [(_phone(rng, cust.region) if other else cust.phone, "PHONE_NUMBER")]
        person = {"name": cust.name, "first": cust.first, "agent": self.agent}.get(name)
        if person is None and name == "other":
            person = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
        if person is None and name == "ofirst":
            person = rng.choice(_FIRST)
        if person is None:
            raise KeyError(f"unknown template slot {{{name}}}")
        return [(person, "PERSON")]

    def subject(self, priority: str) -> list[Seg]:
        prefix = self.rng.choices(["", "Re: ", "Fwd: ", "URGENT: "], [84, 6, 4, 6])[0]
        if priority == "urgent" and self.rng.random() < 0.4:
            prefix = "URGENT: "
        return [(prefix, None), *self.render(self.rng.choice(_SUBJECTS[self.queue]))]

    def body(self, named_closer: bool) -> list[Seg]:
        rng, pool = self.rng, _BODY[self.queue]
        look_pool = [t for t in pool if _LOOK_SLOT_RE.search(t)]
        plain_pool = [t for t in pool if not _LOOK_SLOT_RE.search(t)]
        n_look = rng.choices([0, 1, 2, 3], [16, 46, 28, 10])[0]
        n_pii = rng.choices([0, 1, 2, 3], [22, 40, 26, 12])[0]
        n_plain = max(rng.randint(3, 6) - n_look - n_pii, 0)
        plain = rng.sample(plain_pool, len(plain_pool))
        chosen = [("look", t) for t in rng.sample(look_pool, n_look)]
        chosen += [("plain", plain.pop()) for _ in range(n_plain)]
        rng.shuffle(chosen)
        weights = _PII_WEIGHTS[self.queue]  # weighted sampling without replacement
        keys = sorted(range(len(PII_TYPES)), key=lambda i: -(rng.random() ** (1 / weights[i])))
        for i in keys[:n_pii]:
            template = rng.choice(_PII_TEMPLATES[PII_TYPES[i]])
            chosen.insert(rng.randint(0, len(chosen)), ("pii", template))
        sentences = [(tag, self.render(t)) for tag, t in chosen]
        opener = self.render(rng.choice(_OPENERS)) if rng.random() < 0.85 else []
        r = rng.random()
        closers = _NAMED_CLOSERS if named_closer or r < 0.5 else _CLOSERS
        closer = self.render(rng.choice(closers)) if named_closer or r < 0.9 else []
        spare = plain + rng.sample(_FILLERS, len(_FILLERS))

        def words() -> int:
            return sum(len(_text(p).split()) for p in [opener, closer] + [s for _, s in sentences])

        while words() < 42 and spare:
            sentences.insert(rng.randint(0, len(sentences)), ("plain", self.render(spare.pop())))
        for tag in ("plain", "look"):
            while words() > 116 and any(t == tag for t, _ in sentences):
                sentences.pop(max(i for i, (t, _) in enumerate(sentences) if t == tag))
        texts = [s for _, s in sentences]
        cut = len(texts) // 2 if len(texts) >= 4 and rng.random() < 0.5 else len(texts)
        middle = _join([_join(texts[:cut]), _join(texts[cut:])], "\n\n") if texts[cut:] else []
        middle = middle or _join(texts)
        out: list[Seg] = []
        if opener:
            out += [*opener, ("\n\n" if _text(opener).endswith(",") else " ", None)]
        out += middle
        if closer:
            out += [("\n\n", None), *closer]
        return out

    def reply(self) -> list[Seg]:
        rng = self.rng
        extra = rng.sample(_REPLIES[self.queue], rng.choices([0, 1, 2], [25, 50, 25])[0])
        text = _join([self.render(t) for t in [rng.choice(_ACKS), *extra]])
        greeting, sign = self.render(rng.choice(_GREETINGS)), self.render(rng.choice(_SIGNOFFS))
        return _join([greeting, text, sign], "\n\n")


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


def _shingles(text: str, split: bool) -> set[tuple[str, ...]]:
    toks = text.lower().split() if split else re.findall(r"\w+", text.casefold())
    return {tuple(toks[i : i + 3]) for i in range(max(len(toks) - 2, 0))}


def _jaccard(a: str, b: str) -> float:
    """Word-3-shingle Jaccard similarity, the lower of whitespace and \\w+ tokenisations."""
    scores = []
    for split in (True, False):
        sa, sb = _shingles(a, split), _shingles(b, split)
        scores.append(len(sa & sb) / len(sa | sb) if sa | sb else 1.0)
    return min(scores)


def _edit_once(rng: random.Random, segs: list[Seg]) -> list[Seg]:
    """One small edit to a plain segment: a typo, or an inserted / removed filler word."""
    segs = list(segs)
    plain = [i for i, (t, k) in enumerate(segs) if k is None and re.search(r"[A-Za-z]{5}", t)]
    if not plain:
        return segs
    i = rng.choice(plain)
    text, op = segs[i][0], rng.choice(["typo", "insert", "remove"])
    fillers = list(re.finditer(r" (?:please|just|really|again|also|still|now)\b", text))
    gaps = [(m.end(), f"{rng.choice(_NEAR_FILLERS)} ") for m in _NEAR_GAP_RE.finditer(text)]
    gaps += [(m.start(), " again") for m in re.finditer(r"(?<=[a-z]{3})(?=[.?!])", text)]
    if op == "remove" and fillers:
        m = rng.choice(fillers)
        text = text[: m.start()] + text[m.end() :]
    elif op != "typo" and gaps:
        p, word = rng.choice(gaps)
        text = text[:p] + word + text[p:]
    else:
        m = rng.choice(list(re.finditer(r"[A-Za-z]{5,}", text)))
        word, j = m.group(), rng.randrange(1, len(m.group()) - 2)
        swapped = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
        new = swapped if word[j] != word[j + 1] else word[:j] + word[j + 1 :]
        text = text[: m.start()] + new + text[m.end() :]
    segs[i] = (text, None)
    return segs


def _near_body(rng: random.Random, subject: str, body: list[Seg]) -> list[Seg]:
    original = f"{subject}\n{_text(body)}"
    for _ in range(40):
        segs = body
        for _ in range(rng.choice([1, 1, 2])):
            segs = _edit_once(rng, segs)
        if _text(segs) != _text(body) and _jaccard(original, f"{subject}\n{_text(segs)}") >= 0.91:
            return segs
    return [*body, ("\n\nThanks again.", None)]


def _fullwidth(word: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) for c in word)


def _cosmetic(rng: random.Random, op: str, text: str) -> str:
    """A variation that an NFKC + casefold + quote-folding + whitespace-collapsing key ignores."""
    if op in ("case", "fullwidth"):
        words = list(re.finditer(r"[A-Za-z]{3,}" if op == "case" else r"[A-Za-z0-9]{3,}", text))
        if not words:
            return text
        m = rng.choice(words)
        w = m.group()
        new = _fullwidth(w) if op == "fullwidth" else rng.choice([w.upper(), w.lower(), w.title()])
        new = new if new != w else w.swapcase()
        return text[: m.start()] + new + text[m.end() :]
    if op == "quotes":
        if any(q in text for q in "’“”"):
            return text.translate(str.maketrans("’“”", '\'""'))
        parts = text.replace("'", "’").split('"')
        quotes = ["“" if k % 2 == 0 else "”" for k in range(len(parts) - 1)] + [""]
        return "".join(p + q for p, q in zip(parts, quotes, strict=True))
    spaces = [m.start() for m in re.finditer(r"(?<=\S) (?=\S)", text)]
    if not spaces:
        return text
    p = rng.choice(spaces)
    return text[:p] + ("  " if op == "spaces" else "\u00a0") + text[p + 1 :]


def _exact_copy(rng: random.Random, segs: dict[str, list[Seg]]) -> dict[str, list[Seg]]:
    out = {k: list(v) for k, v in segs.items()}
    ops = rng.sample(["case", "spaces", "nbsp", "fullwidth", "quotes"], rng.randint(2, 4))
    for op in ops:
        for _ in range(rng.randint(1, 3)):
            fld = rng.choice(["subject", "body", "body", "agent_reply"])
            idx = [i for i, (t, k) in enumerate(out[fld]) if k is None and t.strip()]
            if op == "quotes":
                idx = [i for i in idx if any(q in out[fld][i][0] for q in "'\"’“”")] or idx
            if idx:
                i = rng.choice(idx)
                out[fld][i] = (_cosmetic(rng, op, out[fld][i][0]), None)
    if all(_text(out[f]) == _text(segs[f]) for f in ("subject", "body", "agent_reply")):
        out["body"] = [(_cosmetic(rng, "spaces", t) if k is None else t, k) for t, k in out["body"]]
    return out


def _mojibake(text: str) -> str:
    return text.encode("utf-8").decode("cp1252", errors="replace")


def _finish(segs: dict[str, list[Seg]], dup_of: int | None = None, dup_kind: str | None = None,
            defect: str | None = None) -> GeneratedTicket:  # fmt: skip
    spans = [Span(f, t, k) for f in FIELDS for t, k in segs[f] if k is not None and t]
    return GeneratedTicket(
        row={f: _text(segs[f]) for f in FIELDS},
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
                segs = _exact_copy(rng, segs)
            else:
                cust, queue, priority = meta[orig]
                if rng.random() < 0.4 and priority != "urgent":
                    priority = _PRIORITIES[_PRIORITIES.index(priority) + 1]
                segs["priority"] = [(priority, None)]
                segs["body"] = _near_body(rng, _text(segs["subject"]), segs["body"])
                segs["agent_reply"] = _Writer(rng, cust, queue, created).reply()
            tickets.append(_finish(segs, dup_of=orig, dup_kind=kind))
            continue
        reuse = bool(customers) and kind != "mojibake" and rng.random() < 0.08
        cust = rng.choice(customers[-500:]) if reuse else _new_customer(rng, kind == "mojibake")
        customers.append(cust)
        queue = rng.choices(QUEUES, [24, 26, 18, 17, 15])[0]
        priority = rng.choices(_PRIORITIES, [20, 50, 22, 8])[0]
        segs = _draft(rng, cust, queue, priority, tid, created, accented=kind == "mojibake")
        if kind == "mojibake":
            for f in ("subject", "body", "agent_reply"):
                segs[f] = [(_mojibake(t), k) for t, k in segs[f]]
        elif kind == "short":
            segs["subject"], segs["agent_reply"] = [("", None)], [("", None)]
            segs["body"] = [(rng.choice(_SHORT_BODIES), None)]
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

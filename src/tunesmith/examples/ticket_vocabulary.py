"""Word lists and sentence templates of the support-ticket generator (data, no logic).

Templates: ``[a|b|c]`` picks one alternative, ``{slot}`` is filled by the generator (and recorded
when it is a span); ``template_lines`` reads one template a line.
"""

from __future__ import annotations

QUEUES: list[str] = ["billing", "technical", "account", "shipping", "returns"]
PII_TYPES: list[str] = ["PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE",
                        "US_SSN", "IP_ADDRESS", "DATE_OF_BIRTH", "ACCOUNT_ID"]  # fmt: skip


def template_lines(block: str) -> list[str]:
    """One template per line; short templates may share a line, separated by " / "."""
    return [t.strip() for ln in block.strip().splitlines() for t in ln.split(" / ") if t.strip()]


FIRST = """
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
LAST = [s.replace("_", " ") for s in """
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
ACCENTED_FIRST = [name for name in FIRST if not name.isascii()]

REGIONS = ["EU", "NA", "APAC", "LATAM"]
TIERS = ["free", "pro", "enterprise"]
PRIORITIES = ["low", "normal", "high", "urgent"]
DOMAINS = """example.com example.org mail.co.uk firma.de company.io gmail.com outlook.com yahoo.fr
web.de libero.it ziggo.nl wp.pl proton.me icloud.com northwind.io contoso.com acme-corp.com
rediffmail.com yahoo.co.jp uol.com.br""".split()
EMAIL_TAGS = ["billing", "support", "work", "orders", "tickets"]
# '#' = any digit, 'N' = digit 2-9.  All patterns follow libphonenumber's numbering plans.
PHONES: dict[str, list[str]] = {
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
COMPANIES = template_lines("""
Northwind Traders / Bluepeak Analytics / Helios Energía / Café Lumière / Fjordline Logistics
Sakura Design Studio / Kilimanjaro Foods / Brightwave Media / Quantix Labs / Andes Outdoor
Maple & Birch Interiors / Solaris Health / Tidewater Marine / Vireo Software / Atelier Rêve
""")
PLAIN: dict[str, list[str]] = {
    "company": COMPANIES,
    "product": ["DeskHub docking station", "CloudSync desktop app", "Pulse headset",
                "Nimbus router", "Atlas standing desk", "Orbit webcam", "Lumen monitor",
                "Vector keyboard", "Relay mobile app", "Beacon tracker"],
    "plan": ["Starter", "Pro", "Business", "Enterprise"],
    "carrier": ["DHL", "UPS", "FedEx", "Royal Mail", "Correos", "PostNL", "La Poste", "InPost"],
}  # fmt: skip
TEAMS: dict[str, list[str]] = {
    "billing": ["billing team", "Billing & Payments team", "billing department"],
    "technical": ["technical support team", "tech support team", "engineering support team"],
    "account": ["account team", "accounts team", "account management team"],
    "shipping": ["shipping team", "logistics team", "delivery team"],
    "returns": ["returns team", "returns desk", "returns and refunds team"],
}
MONTHS = """January February March April May June July August September October November
December""".split()
DATE_FORMATS = ["{Y}-{m:02d}-{d:02d}", "{d:02d}/{m:02d}/{Y}", "{m:02d}/{d:02d}/{Y}",
                 "{M} {d}, {Y}", "{d} {M} {Y}", "{d:02d}.{m:02d}.{Y}"]  # fmt: skip

# Templates: [a|b|c] picks one alternative, {slot} is filled (and recorded when it is a span).
SUBJECTS: dict[str, list[str]] = {q: template_lines(b) for q, b in zip(QUEUES, ["""
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
BODY: dict[str, list[str]] = {q: template_lines(b) for q, b in zip(QUEUES, ["""
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
FILLERS = template_lines("""
This is [quite|very|really] urgent for us because [our whole team is blocked|a client is waiting].
I have attached [a screenshot|a photo|the relevant document] for reference.
This has happened [twice|three times|several times] now and it is getting frustrating.
Please let me know if you need any more details from my side.
I would appreciate a quick answer, as we [rely on your service every day|are deciding on renewal].
We have been [loyal customers|customers] for years and this has never happened before.
""")  # fmt: skip
PII_TEMPLATES: dict[str, list[str]] = {t: template_lines(b) for t, b in zip(PII_TYPES, ["""
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
PII_WEIGHTS: dict[str, list[int]] = {  # per queue, in PII_TYPES order
    "billing": [2, 2, 2, 3, 3, 2, 1, 1, 2], "technical": [2, 2, 2, 1, 1, 1, 4, 1, 2],
    "account": [2, 2, 2, 1, 1, 2, 2, 3, 3], "shipping": [2, 2, 3, 2, 1, 1, 1, 1, 1],
    "returns": [2, 2, 2, 3, 3, 1, 1, 1, 1],
}  # fmt: skip
OPENERS = template_lines("""
Hello, / Hi, / Hi there, / Dear Support, / Good morning, / Good afternoon, / Hello support team,
To whom it may concern, / Hi, my name is [{name}|{first}].
Hello, my name is {first} and I [manage|look after] the account for {company}.
This is {name} from {company}. / Hi, this is {first} from {company}.
Hi {ofirst}, following up on our call[ yesterday| last week|].
Dear team, this is {name} [again|writing about an ongoing problem].
""")  # fmt: skip
CLOSERS = template_lines("""
Thanks. / Thanks in advance. / Thank you! / Thanks for your help. / Looking forward to your reply.
Sent from my phone
""")  # fmt: skip
NAMED_CLOSERS = ["Regards, {first}", "Best regards,\n{name}", "Kind regards,\n{name}\n{company}",
                  "Cheers,\n{first}", "Thanks,\n{first}", "Many thanks, {name}",
                  "Regards,\n{name}"]  # fmt: skip
ACKS = template_lines("""
Thanks for contacting the {team}[, and sorry for the trouble|].
Thank you for reaching out to our {team}. / I’m from the {team} and I've picked up your ticket.
Your request has been passed to the {team}[ and I'm looking into it now|].
Thanks for your patience while the {team} reviewed this.
""")  # fmt: skip
REPLIES: dict[str, list[str]] = {q: template_lines(b) for q, b in zip(QUEUES, ["""
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
GREETINGS = ["Hi {first},", "Hi {first},", "Hello {first},", "Dear {first},"]
SIGNOFFS = ["Best regards, {agent}", "Best regards,\n{agent}", "Kind regards,\n{agent}",
             "Best,\n{agent}", "Many thanks, {agent}"]  # fmt: skip
SHORT_BODIES = ["help", "Help!!", "call me", "refund please", "not working", "any update?",
                 "see attached", "urgent pls", "it broke again", "???"]  # fmt: skip

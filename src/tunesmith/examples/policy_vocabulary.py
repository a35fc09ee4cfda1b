"""Topics, offices and sentence templates of the policy knowledge-base generator (data only).

``TOPICS`` is read line by line: ``= group slug | Title`` starts a topic, ``subjects:`` lists its
subjects as ``name/paraphrase`` pairs, ``## Heading`` starts a section, and ``<spec>: <fact>``
starts an attribute whose next two indented lines are its question templates: family A, then
family B (written apart from A: other words, other order, the subject's paraphrase). A spec is
``lo-hi[/step] unit`` (``€`` prefixes, ``%`` suffixes, another word follows the number) or
``time``.
"""

from __future__ import annotations

GROUPS: list[str] = ["hr", "finance", "legal", "it", "support", "exec"]
CITIES: list[str] = [c.replace("_", " ") for c in """
Lisbon Porto Madrid Barcelona Valencia Seville Paris Lyon Marseille Toulouse Berlin Munich Hamburg
Cologne Frankfurt Vienna Zürich Geneva Milan Rome Turin Amsterdam Rotterdam Utrecht Brussels
Antwerp Copenhagen Aarhus Stockholm Gothenburg Oslo Helsinki Dublin Cork London Manchester
Edinburgh Warsaw Kraków Prague Brno Budapest Athens Istanbul Tallinn Riga Vilnius Bucharest Sofia
Zagreb Toronto Montréal Boston Austin Denver Seattle São_Paulo Mexico_City Singapore Tokyo
Bangalore Sydney Nairobi Lagos Cape_Town
""".split()]  # fmt: skip
FILLERS: list[str] = [
    "Exceptions need written approval from the {city} site lead.",
    "Questions about this section go to the {group} team's shared mailbox.",
    "Where local law grants more, local law applies.",
    "The rules above were last reviewed in the spring and apply until further notice.",
    "Managers in {city} confirm these terms to new colleagues during their first week.",
    "Any change to this section is announced on the intranet a month in advance.",
]
INTROS: list[str] = [
    "This policy applies to everyone working from the {city} office.",
    "These are the rules of the {city} office; other offices publish their own version.",
    "The {city} office follows this policy from its first day of operation.",
]
TOPICS = """
= hr leave | Leave and notice policy
subjects: contractors/external contractors; full-time employees/permanent staff; interns/trainees
subjects: team managers/people leads; part-time staff/part-timers
## Notice periods
14-120 days: The notice period for {subject} in the {city} office is {value}.
  How much notice must {subject} at the {city} office give before leaving?
  In {city}, what resignation lead time applies to {subject_b}?
2-12 months: Probation for {subject} in the {city} office lasts {value}.
  How long is the trial period for {subject} who join the {city} office?
  What initial assessment window do newly hired {subject_b} based in {city} go through?
## Holidays and sickness
20-40 days: Paid holiday for {subject} in the {city} office is {value} per year.
  How many days off a year do {subject} at the {city} office get?
  What vacation allowance applies annually to {subject_b} working in {city}?
5-60 days: Fully paid sick leave for {subject} in the {city} office is capped at {value} per year.
  How much sick time at full pay can {subject} at the {city} office take each year?
  For {subject_b} in {city}, what is the yearly ceiling on illness absence with salary?
= hr hiring | Recruitment and onboarding
subjects: software engineers/developers; sales representatives/account executives
subjects: warehouse operatives/logistics workers; customer support agents/helpdesk staff
subjects: finance analysts/accounting staff
## Referral bonuses
500-6000/50 €: The referral bonus for bringing {subject} into the {city} office is {value}.
  What does a staff member earn for recommending {subject} who are then hired in the {city} office?
  In {city}, how much is paid out when a colleague successfully refers {subject_b}?
## Interviews and offers
2-8 interviewers: Candidates for {subject} roles in the {city} office meet {value} before an offer.
  How many people does an applicant for {subject} positions at the {city} office talk to?
  What is the size of the hiring panel in {city} for {subject_b}?
3-30 days: Offers for {subject} in the {city} office stay open for {value}.
  How long can a candidate for {subject} at the {city} office take to accept a job offer?
  In {city}, when does an unanswered proposal to {subject_b} lapse?
## Onboarding
2-16 weeks: The onboarding programme for {subject} in the {city} office runs for {value}.
  How long is the induction for new {subject} at the {city} office?
  What is the duration of the ramp-up curriculum that {subject_b} in {city} follow?
= finance travel | Travel and expense limits
subjects: employees/staff members; senior managers/directors; sales teams/account executives
subjects: contractors/freelancers; graduates/junior hires
## Accommodation and meals
90-400 €: The nightly hotel cap for {subject} travelling from the {city} office is {value}.
  What is the most {subject} from the {city} office may spend on a hotel room per night?
  For {subject_b} based in {city}, how expensive can overnight lodging be?
20-120 €: The daily meal allowance for {subject} of the {city} office is {value}.
  How much food money do {subject} at the {city} office get per day on a trip?
  In {city}, what per-diem covers eating out for {subject_b}?
## Claims
10-90 days: Expense claims from {subject} in the {city} office must be filed within {value}.
  How long do {subject} at the {city} office have to submit receipts for reimbursement?
  What is the filing deadline in {city} when {subject_b} want money back for costs?
10-250 €: Receipts are mandatory for {subject} in the {city} office for any item above {value}.
  Above what amount must {subject} at the {city} office attach a proof of purchase?
  From which sum on do {subject_b} in {city} need an itemised bill?
= finance procurement | Purchasing and approvals
subjects: office supplies/stationery; software licences/SaaS subscriptions
subjects: laptops and monitors/computer hardware; consulting services/outside advisers
subjects: marketing events/promotional events
## Purchase orders
100-5000/50 €: Purchases of {subject} by the {city} office above {value} need a purchase order.
  From what spend does buying {subject} at the {city} office require a PO?
  In {city}, what is the threshold on {subject_b} beyond which a formal order document is mandatory?
2-6 quotes: Buying {subject} for the {city} office requires {value} from competing suppliers.
  How many bids must be gathered before the {city} office buys {subject}?
  What number of vendor offers does {city} need to compare when sourcing {subject_b}?
## Payment terms
15-90 days: Invoices for {subject} at the {city} office are paid within {value}.
  How quickly does the {city} office settle bills for {subject}?
  What payment deadline applies in {city} to suppliers of {subject_b}?
## Budgets
1000-90000/500 €: The quarterly budget for {subject} in the {city} office is {value}.
  How much can the {city} office spend on {subject} each quarter?
  What is the three-month allowance of {city} for {subject_b}?
= legal contracts | Contract review
subjects: supplier agreements/vendor contracts; customer contracts/client agreements
subjects: NDAs/confidentiality agreements; partnership agreements/alliance deals
subjects: lease agreements/property leases
## Review times
1-20 business days: Legal reviews {subject} for the {city} office within {value}.
  How long does the legal team take to check {subject} for the {city} office?
  In {city}, what turnaround can be expected when counsel examines {subject_b}?
5000-500000/1000 €: In the {city} office, {subject} above {value} need the general counsel.
  Above what contract value do {subject} at the {city} office need the top lawyer's approval?
  From which amount must {subject_b} in {city} go to the head of legal?
## Retention
3-15 years: Signed {subject} from the {city} office are archived for {value}.
  How long are executed {subject} of the {city} office kept?
  What storage period applies in {city} to completed {subject_b}?
## Renewals
30-180 days: Notice of non-renewal for {subject} in the {city} office is sent {value} before expiry.
  How far ahead of the end date does the {city} office announce that {subject} will not be extended?
  When, relative to expiration, must {city} warn the counterparty that {subject_b} won't roll over?
= legal privacy | Data protection and retention
subjects: customer records/client data; job applications/candidate files
subjects: CCTV footage/security camera recordings; support call recordings/phone recordings
subjects: payroll records/salary data
## Retention periods
2-120 months: The {city} office keeps {subject} for {value}.
  How long does the {city} office hold on to {subject}?
  What is the storage duration in {city} for {subject_b}?
2-30 days: Requests to erase {subject} at the {city} office are answered within {value}.
  How soon must the {city} office respond when someone asks to delete {subject}?
  In {city}, what is the deadline for handling removal requests about {subject_b}?
## Breach reporting
2-72 hours: A breach of {subject} in the {city} office is reported to privacy within {value}.
  How quickly must a leak of {subject} at the {city} office be escalated to privacy?
  What escalation window applies in {city} when {subject_b} may have been exposed?
## Access
2-40 people: Access to {subject} in the {city} office is limited to {value}.
  How many staff at the {city} office may open {subject}?
  What is the headcount cap in {city} on who can view {subject_b}?
= it devices | Devices and accounts
subjects: laptops/notebook computers; mobile phones/smartphones; VPN accounts/remote-access logins
subjects: admin accounts/privileged logins; shared workstations/hot-desk computers
## Replacement
2-6 years: In the {city} office, {subject} are replaced every {value}.
  How often does the {city} office refresh {subject}?
  What is the renewal cycle in {city} for {subject_b}?
## Security
5-120 minutes: In the {city} office, {subject} lock automatically after {value} of inactivity.
  After how long idle do {subject} at the {city} office lock themselves?
  What inactivity timeout applies in {city} to {subject_b}?
30-365 days: Passwords for {subject} in the {city} office expire after {value}.
  How often must credentials for {subject} at the {city} office be changed?
  What is the rotation interval in {city} for secrets protecting {subject_b}?
## Support
2-48 hours: IT replaces faulty {subject} in the {city} office within {value}.
  How fast does the {city} office swap defective {subject}?
  In {city}, what turnaround does the helpdesk promise for broken {subject_b}?
= it systems | Systems and backups
subjects: file servers/shared drives; CRM databases/customer databases; mail servers/email platforms
subjects: build servers/CI machines; payroll servers/salary systems
## Backups
2-24 hours: Backups of {subject} in the {city} office run every {value}.
  How frequently are {subject} at the {city} office copied for recovery?
  What snapshot interval applies in {city} to {subject_b}?
7-400 days: Backup copies of {subject} for the {city} office are retained for {value}.
  How long are recovery copies of {subject} at the {city} office stored?
  What is the retention in {city} of snapshots taken from {subject_b}?
## Maintenance
time: Planned maintenance of {subject} in the {city} office starts at {value} on Sundays.
  At what hour does scheduled downtime of {subject} at the {city} office begin?
  When on Sunday does {city} take {subject_b} offline for upkeep?
## Incidents
5-240 minutes: An outage of {subject} in the {city} office is acknowledged within {value}.
  How quickly must on-call respond when {subject} at the {city} office go down?
  In {city}, what is the acknowledgement target when {subject_b} fail?
= support sla | Customer service levels
subjects: Enterprise customers/top-tier accounts; Business customers/mid-tier accounts
subjects: Starter customers/entry-level accounts; partners/resellers
subjects: public sector clients/government accounts
## Response times
2-48 hours: Tickets from {subject} handled by the {city} office get a first reply within {value}.
  How soon do {subject} served by the {city} office hear back on a new ticket?
  What is the initial answer target in {city} for {subject_b}?
time: Phone support for {subject} at the {city} office closes at {value}.
  When does the {city} office stop taking calls from {subject}?
  Until what hour can {subject_b} ring the {city} helpline?
## Escalation
2-24 hours: Open tickets from {subject} at the {city} office go to a team lead after {value}.
  After how long does an open case from {subject} at the {city} office go to a supervisor?
  When is a stuck request of {subject_b} in {city} raised to management?
## Credits
2-50 %: Service credits for {subject} of the {city} office are capped at {value} of the monthly fee.
  What share of their bill can {subject} of the {city} office get back for downtime?
  In {city}, how large can an outage rebate for {subject_b} be relative to the subscription?
= support returns | Returns and refunds desk
subjects: headsets/audio headsets; monitors/displays; docking stations/laptop docks
subjects: standing desks/height-adjustable desks; webcams/video cameras
## Return window
14-90 days: Customers of the {city} office can return {subject} within {value} of delivery.
  How long do buyers served by the {city} office have to send back {subject}?
  What is the deadline in {city} for shipping purchased {subject_b} back to us?
2-30 %: Opened {subject} returned to the {city} office carry a restocking fee of {value}.
  What percentage is withheld when used {subject} come back to the {city} office?
  How big is the deduction in {city} on unboxed {subject_b} that are taken back?
## Refunds
2-20 business days: Refunds for {subject} at the {city} office are paid {value} after inspection.
  How quickly does the {city} office pay back customers for returned {subject}?
  Once checked in {city}, when is the money for {subject_b} reimbursed?
## Warranty
1-5 years: The {city} office honours a warranty of {value} on {subject}.
  How long is the guarantee for {subject} sold by the {city} office?
  What cover period applies in {city} to defective {subject_b}?
= exec governance | Board and governance
subjects: capital expenditures/capex projects; acquisitions/company purchases
subjects: new office leases/premises rentals; executive hires/C-level appointments
subjects: strategic partnerships/alliance deals
## Approval thresholds
50000-2000000/5000 €: In the {city} office, {subject} above {value} need board approval.
  From what amount do {subject} at the {city} office go to the board?
  What ceiling in {city} triggers a directors' vote on {subject_b}?
2-9 executives: Decisions on {subject} for the {city} office need the signatures of {value}.
  How many leaders must sign off on {subject} at the {city} office?
  What number of senior approvers does {city} require for {subject_b}?
## Reporting
2-12 weeks: Progress on {subject} in the {city} office goes to the executive team every {value}.
  How often does the leadership team get updates on {subject} at the {city} office?
  At what cadence are {subject_b} in {city} reviewed by top management?
## Confidentiality
2-10 years: Documents about {subject} of the {city} office stay confidential for {value}.
  How long must papers on {subject} from the {city} office be kept secret?
  What secrecy period applies in {city} to records of {subject_b}?
= exec compensation | Executive compensation
subjects: vice presidents/VPs; directors/department heads; country managers/regional leads
subjects: general managers/site heads; senior engineers/principal engineers
## Bonuses
5-80 %: The annual bonus target for {subject} in the {city} office is {value} of base salary.
  What share of their pay can {subject} at the {city} office earn as a yearly bonus?
  In {city}, what incentive percentage applies to {subject_b}?
## Equity
2-6 years: Share options for {subject} in the {city} office vest over {value}.
  Over what period do {subject} at the {city} office acquire their stock grants?
  How long is the vesting schedule in {city} for {subject_b}?
## Benefits
500-20000/250 €: The car allowance for {subject} in the {city} office is {value} per year.
  How much do {subject} at the {city} office receive annually for a vehicle?
  What yearly transport stipend is granted in {city} to {subject_b}?
2-12 sessions: Executive coaching for {subject} in the {city} office covers {value} per year.
  How many coaching meetings a year do {subject} at the {city} office get?
  What is the annual number of mentoring appointments for {subject_b} in {city}?
"""

"""Values for the independent PII set: names, numbers and addresses in ten countries' formats.

Written from public format descriptions (numbering plans, checksum rules, postal formats), not
from the example generator. Identifiers carry valid checksums where the real ones do, so a
checksum-based recogniser is tested on what it would meet; phone numbers deliberately include
North American area codes that are not assigned and French mobiles in spaced pairs.
"""

# ruff: noqa: E501 (format tables read better one format per line)
from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass, field

COUNTRIES = ["US", "CA", "UK", "FR", "DE", "ES", "IT", "NL", "IN", "AU"]


@dataclass(frozen=True)
class Value:
    text: str
    format: str
    parts: tuple[str, ...] = field(default=())  # substrings that must not survive (addresses)
    template: str | None = None  # a sentence of its own ({v} = the value)


NAMES = {
    "US": ("Tyler Brandon Kayla Dustin Shawna Marcus Tanya Derek Brittany Cody",
           "Callahan Whitfield Brennan Dunbar Pruitt Holloway McAllister Sutton Garrison Beasley"),
    "CA": ("Mathieu Geneviève Connor Sylvie Alexandre Brianne Rémi Maude",
           "Tremblay Gagnon Bouchard Pelletier MacKenzie Fraser Lavoie Côté"),
    "UK": ("Alistair Gemma Rhys Siobhan Callum Imogen Niamh Declan",
           "Pemberton Ashworth Fairclough Llewellyn Oakley Hargreaves Whitaker Crossley"),
    "FR": ("Clémence Grégoire Aurélien Solène Margaux Baptiste Maëlle Quentin",
           "Lemaire Chevalier Gauthier Perrin Marchand Barbier Roussel Lacroix"),
    "DE": ("Dietmar Henrike Torsten Gudrun Malte Wiebke Jörg Anke",
           "Hartmann Vogel Kühn Lehmann Brandt Scholz Vogt Pfeiffer"),
    "ES": ("Rocío Íñigo Nerea Álvaro Maite Gonzalo Ainhoa Sergio",
           "Etxeberria Navarro Iglesias Cabrera Vidal Herrera Medina Aguirre"),
    "IT": ("Beatrice Tommaso Ludovica Edoardo Ginevra Niccolò Arianna Riccardo",
           "Galli Mancini Lombardi Barbieri Fontana Caruso Moretti Gentile"),
    "NL": ("Maarten Sietske Wouter Ilse Jeroen Floor Gijs Marit",
           "Hendriks Dekker Vermeulen Brouwer Kok Peeters Verhoeven Postma"),
    "IN": ("Siddharth Meenakshi Harish Lakshmi Pranav Shruti Venkat Divya",
           "Krishnan Bhattacharya Menon Kulkarni Pillai Joshi Agarwal Banerjee"),
    "AU": ("Bronwyn Lachlan Kylie Hamish Tahlia Jarrah Shane Narelle",
           "Fitzgerald McGregor Kennedy O'Brien Lindsay Pearce Hutchinson Gallagher"),
}  # fmt: skip


def _d(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def _up(rng: random.Random, n: int, alphabet: str = string.ascii_uppercase) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def person(rng: random.Random, country: str) -> Value:
    first, last = (s.split() for s in NAMES[country])
    return Value(f"{rng.choice(first)} {rng.choice(last)}", "first last")


def email(rng: random.Random, country: str) -> Value:
    first, last = (s.split() for s in NAMES[country])
    f, la = _ascii(rng.choice(first)).lower(), _ascii(rng.choice(last)).lower().replace("'", "")
    domain = rng.choice(["posteo.de", "orange.fr", "telstra.com.au", "rogers.ca", "gmx.de",
                         "btinternet.com", "kpnmail.nl", "tiscali.it", "telefonica.net",
                         "yahoo.co.in", "hotmail.com", "fastmail.com", "comcast.net", "sfr.fr",
                         "mailbox.org", "bureau-lemaire.fr", "ops.hartmann-gmbh.de"])  # fmt: skip
    local = rng.choice([f"{f}.{la}", f"{f[0]}{la}", f"{f}_{la}{rng.randint(1, 99)}",
                        f"{f}+orders", f"{la}.{f[0]}", f"{f}{rng.randint(1960, 2004)}"])  # fmt: skip
    text = f"{local}@{domain}"
    return Value(text.upper() if rng.random() < 0.05 else text, "address")


def _ascii(name: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()


_NANP_ASSIGNED = [212, 213, 305, 312, 415, 416, 503, 514, 604, 617, 702, 713, 808, 905]


def phone(rng: random.Random, country: str) -> Value:
    if country in ("US", "CA"):
        # Half real area codes, half any well-formed NXX, most of them not assigned.
        area = rng.choice(_NANP_ASSIGNED) if rng.random() < 0.5 else rng.randint(200, 989)
        ex, line = rng.randint(200, 999), _d(rng, 4)
        a, e = str(area), str(ex)
        form = rng.choice(["({a}) {e}-{l}", "{a}-{e}-{l}", "{a}.{e}.{l}", "+1 {a} {e} {l}",
                           "1-{a}-{e}-{l}", "+1 ({a}) {e}-{l}", "{a} {e} {l}", "+1-{a}-{e}-{l}"])  # fmt: skip
        return Value(form.format(a=a, e=e, l=line), "nanp " + form)
    forms = {
        "UK": ["07{d3} {d6}", "+44 7{d3} {d6}", "020 7{d3} {d4}", "0161 {d3} {d4}",
               "+44 (0)20 {d4} {d4}", "01632 {d6}"],
        "FR": ["0{m} {p} {p} {p} {p}", "0{m}.{p}.{p}.{p}.{p}", "+33 {m} {p} {p} {p} {p}",
               "+33 (0){m} {p} {p} {p} {p}", "01 {p} {p} {p} {p}", "0{m}{p}{p}{p}{p}"],
        "DE": ["015{x} {d8}", "+49 17{x} {d7}", "030 {d7}", "+49 (0)89 {d7}", "0221/{d6}",
               "+49 151 {d4} {d4}"],
        "ES": ["6{d2} {d2} {d2} {d2}", "+34 6{d2} {d3} {d3}", "91 {d3} {d2} {d2}",
               "+34 93 {d3} {d2} {d2}", "7{d2} {d3} {d3}"],
        "IT": ["+39 3{d2} {d3} {d4}", "3{d2} {d7}", "06 {d4} {d4}", "+39 02 {d4} {d4}",
               "3{d2}-{d7}"],
        "NL": ["06-{d8}", "+31 6 {d8}", "020-{d7}", "+31 (0)10 {d3} {d4}", "06 {d2} {d2} {d2} {d2}"],
        "IN": ["+91 9{d4} {d5}", "09{d4} {d5}", "9{d9}", "+91-8{d9}", "080-{d8}", "+91 22 {d4} {d4}"],
        "AU": ["04{d2} {d3} {d3}", "+61 4{d2} {d3} {d3}", "(02) {d4} {d4}", "+61 3 {d4} {d4}",
               "04{d8}", "08 {d4} {d4}"],
    }  # fmt: skip
    form = rng.choice(forms[country])
    text = form
    for key, n in (("d9", 9), ("d8", 8), ("d7", 7), ("d6", 6), ("d5", 5), ("d4", 4), ("d3", 3),
                   ("d2", 2), ("x", 1)):  # fmt: skip
        while "{" + key + "}" in text:
            text = text.replace("{" + key + "}", _d(rng, n), 1)
    text = text.replace("{m}", rng.choice("67"), 1)
    while "{p}" in text:
        text = text.replace("{p}", _d(rng, 2), 1)
    return Value(text, f"{country} {form}")


def _luhn_complete(partial: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(partial)):
        v = int(ch) * (2 if i % 2 == 0 else 1)
        total += v - 9 if v > 9 else v
    return partial + str((10 - total % 10) % 10)


def card(rng: random.Random, country: str) -> Value:
    kind = rng.choice(["visa", "mc", "mc2", "amex", "discover"])
    prefix = {"visa": "4", "mc": f"5{rng.randint(1, 5)}", "mc2": str(rng.randint(2221, 2720)),
              "amex": rng.choice(["34", "37"]), "discover": "6011"}[kind]  # fmt: skip
    length = 15 if kind == "amex" else 16
    number = _luhn_complete(prefix + _d(rng, length - 1 - len(prefix)))
    groups = (4, 6, 5) if kind == "amex" else (4, 4, 4, 4)
    sep = rng.choice([" ", "-", "", " "])
    parts, pos = [], 0
    for g in groups:
        parts.append(number[pos : pos + g])
        pos += g
    return Value(sep.join(parts), f"{kind} sep={sep!r}")


_IBAN = {"DE": "18d", "FR": "23d", "ES": "20d", "IT": "1L22d", "NL": "4L10d", "GB": "4L14d",
         "BE": "12d", "PT": "21d", "IE": "4L14d", "CH": "17d", "AT": "16d"}  # fmt: skip


def iban(rng: random.Random, country: str) -> Value:
    cc = rng.choice(sorted(_IBAN))
    spec, bban = _IBAN[cc], ""
    if "L" in spec:
        letters, digits = spec.split("L")
        bban = _up(rng, int(letters))
        spec = digits
    bban += _d(rng, int(spec[:-1]))
    numeric = "".join(str(int(ch, 36)) for ch in bban + cc + "00")
    check = 98 - int(numeric) % 97
    compact = f"{cc}{check:02d}{bban}"
    if rng.random() < 0.6:
        text = " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
    else:
        text = compact
    return Value(text, f"{cc} {'grouped' if ' ' in text else 'compact'}")


def ssn(rng: random.Random, country: str) -> Value:
    area = rng.choice([a for a in range(1, 900) if a != 666])
    group, serial = rng.randint(1, 99), rng.randint(1, 9999)
    sep = rng.choice(["-", "-", " "])
    return Value(f"{area:03d}{sep}{group:02d}{sep}{serial:04d}", f"sep={sep!r}")


def ip(rng: random.Random, country: str) -> Value:
    if rng.random() < 0.3:
        groups = [f"{rng.randint(0, 0xFFFF):x}" for _ in range(8)]
        if rng.random() < 0.5:
            return Value(f"2a02:{groups[1]}:{groups[2]}::{groups[3]}", "ipv6 compressed")
        return Value(":".join(["2600", *groups[1:]]), "ipv6 full")
    first = rng.choice([24, 37, 52, 68, 89, 93, 104, 141, 172, 188, 195, 203])
    return Value(f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                 "ipv4")  # fmt: skip


_MONTHS = {
    "en": "January February March April May June July August September October November December",
    "FR": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "DE": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
    "ES": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
    "IT": "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre "
    "dicembre",
    "NL": "januari februari maart april mei juni juli augustus september oktober november december",
}
_BIRTH = {
    "en": ["DOB {v}", "date of birth: {v}", "I was born on {v}, if that helps verify me.",
           "birthdate {v}", "D.O.B. {v}"],
    "FR": ["née le {v}", "date de naissance : {v}", "né le {v} à Lyon"],
    "DE": ["geboren am {v}", "Geburtsdatum: {v}", "geb. {v}"],
    "ES": ["fecha de nacimiento: {v}", "nacido el {v}", "F. nacimiento {v}"],
    "IT": ["nato il {v}", "data di nascita {v}", "nata il {v} a Torino"],
    "NL": ["geboortedatum {v}", "geboren op {v}"],
}  # fmt: skip


def date_of_birth(rng: random.Random, country: str) -> Value:
    y, m, d = rng.randint(1938, 2006), rng.randint(1, 12), rng.randint(1, 28)
    lang = country if country in _BIRTH else "en"
    month = _MONTHS[lang].split()[m - 1]
    forms = {
        "US": [f"{m:02d}/{d:02d}/{y}", f"{month} {d}, {y}", f"{m}/{d}/{y}", f"{y}-{m:02d}-{d:02d}"],
        "en": [f"{d:02d}/{m:02d}/{y}", f"{d} {month} {y}", f"{d}{'th' if d > 3 else ''} {month} {y}"],
        "FR": [f"{d:02d}/{m:02d}/{y}", f"{d} {month} {y}"],
        "DE": [f"{d:02d}.{m:02d}.{y}", f"{d}. {month} {y}"],
        "ES": [f"{d:02d}/{m:02d}/{y}", f"{d} de {month} de {y}"],
        "IT": [f"{d:02d}/{m:02d}/{y}", f"{d} {month} {y}"],
        "NL": [f"{d:02d}-{m:02d}-{y}", f"{d} {month} {y}"],
    }  # fmt: skip
    text = rng.choice(forms.get(country, forms["en"] if country != "CA" else forms["US"]))
    return Value(text, f"{lang} date", template=rng.choice(_BIRTH[lang]))


def _nir(rng: random.Random) -> str:
    body = f"{rng.choice('12')}{_d(rng, 2)}{rng.randint(1, 12):02d}{rng.randint(1, 95):02d}"
    body += f"{rng.randint(1, 990):03d}{rng.randint(1, 999):03d}"
    key = 97 - int(body) % 97
    full = body + f"{key:02d}"
    if rng.random() < 0.5:
        return full
    return " ".join([full[0], full[1:3], full[3:5], full[5:7], full[7:10], full[10:13], full[13:]])


def _steuer_id(rng: random.Random) -> str:
    while True:
        digits = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(9)]
        counts = sorted((digits.count(x) for x in set(digits)), reverse=True)
        if counts[0] in (2, 3) and counts[1] == 1:
            break
    product = 10
    for x in digits:
        total = (x + product) % 10 or 10
        product = (total * 2) % 11
    check = (11 - product) % 10
    text = "".join(map(str, digits)) + str(check)
    return text if rng.random() < 0.6 else f"{text[:2]} {text[2:5]} {text[5:8]} {text[8:]}"


_ICAO = "CFGHJKLMNPRTVWXYZ"


def _de_id_card(rng: random.Random) -> str:
    body = rng.choice("LMNPRTVWXY") + _up(rng, 8, _ICAO + string.digits)
    total = sum(int(ch, 36) * (7, 3, 1)[i % 3] for i, ch in enumerate(body))
    return body + str(total % 10)


def _dni(rng: random.Random, nie: bool) -> str:
    letters = "TRWAGMYFPDXBNJZSQVHLCKE"
    if nie:
        lead = rng.choice("XYZ")
        number = _d(rng, 7)
        letter = letters[int(str("XYZ".index(lead)) + number) % 23]
        return rng.choice([f"{lead}{number}{letter}", f"{lead}-{number}-{letter}"])
    number = _d(rng, 8)
    letter = letters[int(number) % 23]
    return rng.choice([f"{number}{letter}", f"{number}-{letter}"])


_CF_ODD = dict(zip("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
               [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18,
                20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23], strict=True))  # fmt: skip


def _codice_fiscale(rng: random.Random) -> str:
    consonants = "BCDFGHJKLMNPRSTVZ"
    body = _up(rng, 3, consonants) + _up(rng, 3, consonants)
    body += f"{rng.randint(40, 99)}{rng.choice('ABCDEHLMPRST')}{rng.choice([rng.randint(1, 28), rng.randint(41, 68)]):02d}"
    body += rng.choice("ABCDEFGHILM") + f"{rng.randint(1, 999):03d}"
    total = 0
    for i, ch in enumerate(body):
        total += _CF_ODD[ch] if i % 2 == 0 else (int(ch) if ch.isdigit() else ord(ch) - 65)
    return body + chr(65 + total % 26)


def _weighted_ok(digits: str, weights: list[int], mod: int) -> bool:
    return sum(int(c) * w for c, w in zip(digits, weights, strict=True)) % mod == 0


def _bsn(rng: random.Random) -> str:
    while True:
        s = str(rng.randint(1, 9)) + _d(rng, 8)
        if _weighted_ok(s, [9, 8, 7, 6, 5, 4, 3, 2, -1], 11):
            return s if rng.random() < 0.7 else f"{s[:4]}.{s[4:6]}.{s[6:]}"


def _tfn(rng: random.Random) -> str:
    while True:
        s = _d(rng, 9)
        if _weighted_ok(s, [1, 4, 3, 7, 5, 8, 6, 9, 10], 11):
            return rng.choice([s, f"{s[:3]} {s[3:6]} {s[6:]}"])


def _sin(rng: random.Random) -> str:
    s = _luhn_complete(rng.choice("1234567") + _d(rng, 7))
    return rng.choice([f"{s[:3]} {s[3:6]} {s[6:]}", f"{s[:3]}-{s[3:6]}-{s[6:]}", s])


def _verhoeff_tables() -> tuple[list[list[int]], list[list[int]], list[int]]:
    d = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
         [2, 3, 4, 0, 1, 7, 8, 9, 5, 6], [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
         [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
         [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
         [8, 7, 6, 5, 9, 3, 2, 1, 0, 4], [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]]  # fmt: skip
    p = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4]]
    for i in range(2, 8):
        p.append([p[1][p[i - 1][j]] for j in range(10)])
    inv = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9]
    return d, p, inv


def _aadhaar(rng: random.Random) -> str:
    d, p, inv = _verhoeff_tables()
    body = str(rng.randint(2, 9)) + _d(rng, 10)
    c = 0
    for i, ch in enumerate(reversed(body)):
        c = d[c][p[(i + 1) % 8][int(ch)]]
    s = body + str(inv[c])
    return rng.choice([f"{s[:4]} {s[4:8]} {s[8:]}", s, f"{s[:4]}-{s[4:8]}-{s[8:]}"])


def _nino(rng: random.Random) -> str:
    while True:
        pre = rng.choice("ABCEGHJKLMNOPRSTWXYZ") + rng.choice("ABCEGHJKLMNPRSTWXYZ")
        if pre not in ("BG", "GB", "NK", "KN", "TN", "NT", "ZZ"):
            break
    digits, suffix = _d(rng, 6), rng.choice("ABCD")
    if rng.random() < 0.5:
        return f"{pre}{digits}{suffix}"
    return f"{pre} {digits[:2]} {digits[2:4]} {digits[4:]} {suffix}"


def _pan(rng: random.Random) -> str:
    return _up(rng, 3) + rng.choice("PCHFATBLJG") + _up(rng, 1) + _d(rng, 4) + _up(rng, 1)


_IDS: dict[str, list[tuple[str, Callable[[random.Random], str], list[str]]]] = {
    "UK": [("NINO", _nino, ["National Insurance number {v}", "my NI number is {v}",
                            "NINO: {v}"])],
    "FR": [("NIR", _nir, ["numéro de sécurité sociale {v}", "N° SS : {v}",
                          "my social security number (NIR) is {v}"])],
    "DE": [("Steuer-ID", _steuer_id, ["Steuer-ID {v}", "steuerliche Identifikationsnummer: {v}",
                                      "my German tax ID is {v}"]),
           ("Personalausweis", _de_id_card, ["Personalausweis-Nr. {v}",
                                             "ID card number {v} (Personalausweis)"])],
    "ES": [("DNI", lambda r: _dni(r, False), ["DNI {v}", "mi DNI es {v}", "NIF: {v}"]),
           ("NIE", lambda r: _dni(r, True), ["NIE: {v}", "my NIE is {v}"])],
    "IT": [("CF", _codice_fiscale, ["codice fiscale {v}", "C.F. {v}", "CF: {v}"])],
    "NL": [("BSN", _bsn, ["BSN {v}", "burgerservicenummer: {v}"])],
    "IN": [("Aadhaar", _aadhaar, ["Aadhaar {v}", "Aadhaar no. {v}"]),
           ("PAN", _pan, ["PAN {v}", "PAN card: {v}"])],
    "AU": [("TFN", _tfn, ["TFN {v}", "tax file number {v}"])],
    "CA": [("SIN", _sin, ["SIN {v}", "social insurance number: {v}", "NAS {v}"])],
}  # fmt: skip


def national_id(rng: random.Random, country: str) -> Value:
    name, make, templates = rng.choice(_IDS[country])
    return Value(make(rng), name, template=rng.choice(templates))


_PASSPORT = {
    "US": (lambda r: r.choice([_d(r, 9), r.choice("ACDE") + _d(r, 8)]), "passport number {v}"),
    "UK": (lambda r: _d(r, 9), "passport no. {v}"),
    "FR": (lambda r: _d(r, 2) + _up(r, 2) + _d(r, 5), "numéro de passeport {v}"),
    "DE": (lambda r: r.choice("CFGHJK") + _up(r, 8, _ICAO + string.digits), "Reisepassnummer {v}"),
    "ES": (lambda r: _up(r, 3) + _d(r, 6), "pasaporte {v}"),
    "IT": (lambda r: _up(r, 2) + _d(r, 7), "passaporto n. {v}"),
    "NL": (lambda r: _up(r, 2) + _up(r, 6, "ABCDEFGHJKLMNPRSTUVWXYZ0123456789") + _d(r, 1),
           "paspoortnummer {v}"),
    "IN": (lambda r: _up(r, 1) + _d(r, 7), "Passport: {v}"),
    "AU": (lambda r: r.choice(["N", "PA", "E"]) + _d(r, 7), "my passport is {v}"),
    "CA": (lambda r: _up(r, 2) + _d(r, 6), "passport # {v}"),
}  # fmt: skip


def passport(rng: random.Random, country: str) -> Value:
    make, template = _PASSPORT[country]
    return Value(make(rng), country, template=template)


VALUES: dict[str, Callable[[random.Random, str], Value]] = {
    "PERSON": person,
    "EMAIL_ADDRESS": email,
    "PHONE_NUMBER": phone,
    "CREDIT_CARD": card,
    "IBAN_CODE": iban,
    "US_SSN": ssn,
    "IP_ADDRESS": ip,
    "DATE_OF_BIRTH": date_of_birth,
    "NATIONAL_ID": national_id,
    "PASSPORT": passport,
}

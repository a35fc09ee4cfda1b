"""Text segments and the planted values (cards, IBANs, order ids...) the ticket generator fills in.

A segment is (text, span type or None); a recorded value is its own segment, so its exact
substring in the row is known.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable

from tunesmith.examples.ticket_vocabulary import DOMAINS, EMAIL_TAGS, PHONES

Seg = tuple[str, str | None]  # (text, span type or None for plain text)


def seg_text(segs: list[Seg]) -> str:
    return "".join(t for t, _ in segs)


def join_segs(parts: list[list[Seg]], sep: str = " ") -> list[Seg]:
    out: list[Seg] = []
    for i, part in enumerate(parts):
        if i:
            out.append((sep, None))
        out.extend(part)
    return out


_ASCII_MAP = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "ß": "ss", "ı": "i", "æ": "ae"})


def _digits(rng: random.Random, k: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(k))


def _ascii(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.translate(_ASCII_MAP))
    return re.sub(r"[^a-z0-9]", "", text.encode("ascii", "ignore").decode().lower())


def email_address(rng: random.Random, first: str, last: str) -> str:
    f, s = _ascii(first), _ascii(last)
    local = rng.choice([f"{f}.{s}", f"{f[0]}.{s}", f"{f}{s}{rng.randint(1, 99)}", f"{s}.{f}",
                        f"{f}+{rng.choice(EMAIL_TAGS)}", f"{f}_{s}",
                        f"{f[0]}{s}{rng.randint(70, 99)}"])  # fmt: skip
    return f"{local}@{rng.choice(DOMAINS)}"


def phone_number(rng: random.Random, region: str) -> str:
    pattern = rng.choice(PHONES[region])
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


VALUE_SLOTS: dict[str, Callable[[random.Random], list[Seg]]] = {
    "card": _card, "iban": _iban, "ssn": _ssn, "ip": _ip, "order": _order, "sku": _sku,
    "version": _version, "amount": _amount, "error": _error,
    "acct": lambda rng: [(f"ACC-{rng.randint(100000, 999999)}", "ACCOUNT_ID")],
}  # fmt: skip

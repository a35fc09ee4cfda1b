"""Postal addresses and look-alikes for the independent PII set (see pii_independent_set.py)."""
# ruff: noqa: E501 (format tables read better one format per line)

from __future__ import annotations

import random
import string

from pii_independent_values import Value, _d, _up

_STREET_EN = (
    "Juniper Birchwood Larkspur Sycamore Foxglove Hawthorne Pinecrest Tamarack Wexford".split()
)
_CITY = {
    "US": [("Dayton", "OH"), ("Boise", "ID"), ("Tulsa", "OK"), ("Madison", "WI"), ("Reno", "NV")],
    "CA": [("Kelowna", "BC"), ("Guelph", "ON"), ("Red Deer", "AB"), ("Moncton", "NB")],
    "UK": ["Harrogate", "Swansea", "Norwich", "Stockport", "Ipswich", "Perth"],
    "FR": ["Grenoble", "Rennes", "Tours", "Nancy", "Avignon", "Besançon"],
    "DE": ["Freiburg im Breisgau", "Kassel", "Würzburg", "Oldenburg", "Erfurt", "Münster"],
    "ES": ["Valladolid", "Zaragoza", "Córdoba", "Bilbao", "Alicante", "Santander"],
    "IT": [("Bergamo", "BG"), ("Parma", "PR"), ("Lecce", "LE"), ("Trento", "TN"), ("Pisa", "PI")],
    "NL": ["Zwolle", "Haarlem", "Amersfoort", "Leeuwarden", "Tilburg", "Den Haag"],
    "IN": ["Pune", "Kochi", "Hyderabad", "Jaipur", "Mysuru", "Chennai"],
    "AU": [("Fremantle", "WA"), ("Ballarat", "VIC"), ("Toowoomba", "QLD"), ("Wollongong", "NSW")],
}  # fmt: skip


def _uk_postcode(rng: random.Random) -> str:
    area = rng.choice(["HG", "SA", "NR", "SK", "IP", "PH", "M", "B", "LS", "EH", "CF", "BT"])
    district = str(rng.randint(1, 29)) + (rng.choice("ABEHMNPRVWXY") if rng.random() < 0.1 else "")
    return f"{area}{district} {rng.randint(0, 9)}{_up(rng, 2, 'ABDEFGHJLNPQRSTUWXYZ')}"


def _ca_postcode(rng: random.Random) -> str:
    first, later = "ABCEGHJKLMNPRSTVXY", "ABCEGHJKLMNPRSTVWXYZ"
    return f"{rng.choice(first)}{rng.randint(0, 9)}{rng.choice(later)} {rng.randint(0, 9)}{rng.choice(later)}{rng.randint(0, 9)}"


def address(rng: random.Random, country: str) -> Value:
    n = str(rng.randint(1, 2400 if country in ("US", "CA", "AU") else 180))
    city = rng.choice(_CITY[country])
    if country == "US":
        street = f"{n} {rng.choice(_STREET_EN)} {rng.choice(['St', 'Street', 'Ave', 'Avenue', 'Rd', 'Dr', 'Drive', 'Ln', 'Blvd', 'Ct', 'Way', 'Pkwy', 'Circle'])}"
        unit = rng.choice(["", "", f" Apt {rng.randint(1, 30)}{rng.choice('ABC')}",
                           f", Suite {rng.randint(100, 950)}", f" #{rng.randint(2, 40)}"])  # fmt: skip
        zip_code = _d(rng, 5) + (f"-{_d(rng, 4)}" if rng.random() < 0.2 else "")
        sep = rng.choice([", ", "\n"])
        text = f"{street}{unit}{sep}{city[0]}, {city[1]} {zip_code}"
        return Value(text, "US", (street, zip_code))
    if country == "CA":
        code = _ca_postcode(rng)
        if rng.random() < 0.4:
            street = f"{n}, rue {rng.choice(['Saint-Denis', 'Sherbrooke Est', 'des Érables', 'Principale'])}"
            return Value(f"{street}, Québec (Québec) {code}", "CA fr", (street, code))
        street = f"{n} {rng.choice(_STREET_EN)} {rng.choice(['Crescent', 'Road', 'Avenue', 'Drive', 'Street'])}"
        return Value(f"{street}, {city[0]}, {city[1]} {code}", "CA en", (street, code))
    if country == "UK":
        code = _uk_postcode(rng)
        street = f"{n} {rng.choice(_STREET_EN)} {rng.choice(['Road', 'Street', 'Lane', 'Close', 'Gardens', 'Terrace', 'Mews', 'Crescent'])}"
        flat = rng.choice(["", "", f"Flat {rng.randint(1, 9)}, "])
        sep = rng.choice([", ", "\n"])
        return Value(f"{flat}{street}{sep}{city}{sep}{code}", "UK", (street, code))
    if country == "FR":
        code = _d(rng, 5)
        kind = rng.choice(["rue", "avenue", "boulevard", "allée", "impasse", "place", "chemin"])
        name = rng.choice(["des Lilas", "Victor Hugo", "du Général Leclerc", "de la République",
                           "Pasteur", "des Écoles", "Jean Jaurès", "de Verdun"])  # fmt: skip
        street = f"{n}{rng.choice(['', '', ' bis', ' ter'])} {kind} {name}"
        return Value(f"{street}{rng.choice([', ', chr(10)])}{code} {city}", "FR", (street, code))
    if country == "DE":
        code = _d(rng, 5)
        base = rng.choice(["Linden", "Birken", "Goethe", "Schiller", "Bahnhof", "Kirch", "Mühlen"])
        kind = rng.choice(["straße", "str.", "weg", "allee", "ring", "gasse", "platz"])
        street = f"{base}{kind} {n}{rng.choice(['', '', 'a', 'b'])}"
        if rng.random() < 0.25:
            street = f"{rng.choice(['Berliner', 'Hamburger', 'Alte'])} Straße {n}"
        return Value(f"{street}{rng.choice([', ', chr(10)])}{code} {city}", "DE", (street, code))
    if country == "ES":
        code = _d(rng, 5)
        street = rng.choice([
            f"Calle de {rng.choice(['Alcalá', 'Toledo', 'la Paz', 'San Bernardo'])} {n}",
            f"C/ {rng.choice(['Mayor', 'Real', 'Nueva', 'Ancha'])}, {n}",
            f"Avda. de la {rng.choice(['Constitución', 'Libertad', 'Paz'])} {n}",
            f"Plaza {rng.choice(['de España', 'del Pilar', 'Mayor'])} {n}",
        ])  # fmt: skip
        floor = rng.choice(["", f", {rng.randint(1, 9)}º {rng.choice('ABCD')}"])
        return Value(f"{street}{floor}, {code} {city}", "ES", (street, code))
    if country == "IT":
        code = _d(rng, 5)
        street = rng.choice([
            f"Via {rng.choice(['Giuseppe Garibaldi', 'Roma', 'dei Mille', 'XX Settembre', 'Cavour'])} {n}",
            f"Piazza {rng.choice(['della Libertà', 'Duomo', 'Vittorio Veneto'])} {n}",
            f"Corso {rng.choice(['Italia', 'Vittorio Emanuele II', 'Mazzini'])} {n}",
            f"Viale {rng.choice(['Monza', 'dei Pini', 'Europa'])} {n}/{rng.choice('ABC')}",
        ])  # fmt: skip
        return Value(f"{street}, {code} {city[0]} ({city[1]})", "IT", (street, code))
    if country == "NL":
        code = f"{rng.randint(1000, 9999)} {_up(rng, 2, 'ABCDEGHJKLMNPRSTVWXZ')}"
        base = rng.choice(["Keizers", "Heren", "Molen", "Kerk", "Dorps", "Linden", "Wilhelmina"])
        kind = rng.choice(["gracht", "straat", "laan", "weg", "kade", "plein", "singel"])
        street = f"{base}{kind} {n}{rng.choice(['', '', 'A', '-2', ' bis'])}"
        return Value(f"{street}{rng.choice([', ', chr(10)])}{code} {city}", "NL", (street, code))
    if country == "IN":
        pin = f"{rng.randint(11, 85)}{_d(rng, 4)}"
        pin_text = rng.choice([pin, f"{pin[:3]} {pin[3:]}"])
        road = f"{n} {rng.choice(['MG', 'Nehru', 'Station', 'Temple', 'Residency', 'Link'])} Road"
        flat = rng.choice(["", f"Flat {rng.randint(1, 40)}{rng.choice('ABC')}, "])
        area = rng.choice(["Kothrud", "Banjara Hills", "Malviya Nagar", "Adyar", "Kakkanad"])
        text = f"{flat}{road}, {area}, {city}{rng.choice([' ', ' - '])}{pin_text}"
        return Value(text, "IN", (road, pin_text))
    code = f"{city[1]} {rng.randint(2000, 6999)}"
    kind = rng.choice(["Street", "St", "Road", "Parade", "Avenue", "Crescent", "Tce"])
    street = f"{n} {rng.choice(_STREET_EN)} {kind}"
    unit = rng.choice(["", "", f"Unit {rng.randint(1, 20)}/", f"{rng.randint(1, 20)}/"])
    return Value(f"{unit}{street}, {city[0]} {code}", "AU", (street, code))


def _order(rng: random.Random, country: str) -> Value:
    forms = [f"{rng.randint(2019, 2026)}-{_d(rng, 3)}-{_d(rng, 4)}", f"#A-{_d(rng, 5)}",
             f"PO-{rng.randint(2020, 2026)}-{_d(rng, 5)}", f"{_d(rng, 3)}-{_d(rng, 7)}-{_d(rng, 7)}",
             f"ORD/{rng.randint(20, 26)}/{_d(rng, 6)}", _d(rng, 8), f"W{_d(rng, 10)}"]  # fmt: skip
    return Value(rng.choice(forms), "order")


def _sku(rng: random.Random, country: str) -> Value:
    forms = [f"TX-{_d(rng, 4)}-BLK", f"{_d(rng, 2)}-{_d(rng, 4)}-{_d(rng, 2)}",
             f"HW{_d(rng, 3)}-{_d(rng, 3)}-EU", f"KB-{rng.choice(['US', 'UK', 'DE'])}-{_d(rng, 3)}",
             f"SM-G{_d(rng, 3)}B", f"ZX{_d(rng, 2)}-{_d(rng, 4)}", f"{_up(rng, 3)}{_d(rng, 5)}"]  # fmt: skip
    return Value(rng.choice(forms), "sku")


def _version(rng: random.Random, country: str) -> Value:
    a, b, c = rng.randint(1, 24), rng.randint(0, 30), rng.randint(0, 40)
    forms = [f"v{a}.{b}.{c}", f"{a}.{b}.{c}.{rng.randint(1, 9999)}", f"{rng.randint(2021, 2026)}.{b % 12 + 1}.{c}",
             f"v{a}.{b}.{c}-beta.{rng.randint(1, 9)}", f"10.0.{rng.randint(10000, 26999)}", f"{a}.{b}"]  # fmt: skip
    return Value(rng.choice(forms), "version")


def _tracking(rng: random.Random, country: str) -> Value:
    forms = [f"1Z{_up(rng, 3, string.ascii_uppercase + string.digits)}{_d(rng, 13)}",
             f"1Z {_d(rng, 3)} {_up(rng, 2)}{_d(rng, 1)} {_d(rng, 2)} {_d(rng, 4)} {_d(rng, 4)}",
             f"9400 {_d(rng, 4)} {_d(rng, 4)} {_d(rng, 4)} {_d(rng, 4)} {_d(rng, 2)}",
             f"JJD{_d(rng, 15)}", f"RR{_d(rng, 9)}{rng.choice(['GB', 'DE', 'FR', 'NL'])}",
             _d(rng, 20)]  # fmt: skip
    return Value(rng.choice(forms), "tracking")


def _date(rng: random.Random, country: str) -> Value:
    y, m, d = rng.randint(2023, 2026), rng.randint(1, 12), rng.randint(1, 28)
    month = "January February March April May June July August September October November December"
    name = month.split()[m - 1]
    forms = [f"{d:02d}/{m:02d}/{y}", f"{y}-{m:02d}-{d:02d}", f"{d:02d}.{m:02d}.{y}",
             f"{name[:3]} {d}, {y}", f"{d} {name} {y}", f"{m}/{d}/{y % 100:02d}"]  # fmt: skip
    return Value(rng.choice(forms), "date")


def _amount(rng: random.Random, country: str) -> Value:
    whole, cents = rng.randint(5, 9999), rng.randint(0, 99)
    forms = [f"${whole:,}.{cents:02d}", f"€{whole:,}.{cents:02d}".replace(",", "X").replace(".", ",").replace("X", "."),
             f"£{whole}.{cents:02d}", f"{whole:,},{cents:02d} €".replace(",", " ", 1) if whole >= 1000 else f"{whole},{cents:02d} €",
             f"INR {whole * 10:,}", f"A${whole}.{cents:02d}", f"CA${whole}.{cents:02d}", f"₹{whole * 10:,}"]  # fmt: skip
    return Value(rng.choice(forms), "amount")


def _time(rng: random.Random, country: str) -> Value:
    h, m = rng.randint(0, 23), rng.choice([0, 5, 15, 30, 45, 52])
    forms = [f"{h:02d}:{m:02d}", f"{h % 12 or 12}:{m:02d} {'am' if h < 12 else 'pm'}",
             f"{h}h{m:02d}", f"{h:02d}:{m:02d}:{rng.randint(0, 59):02d} UTC"]  # fmt: skip
    return Value(rng.choice(forms), "time")


def _invoice(rng: random.Random, country: str) -> Value:
    forms = [f"INV-{rng.randint(2022, 2026)}-{_d(rng, 4)}", f"FR-{rng.randint(2022, 2026)}-{_d(rng, 6)}",
             f"RE-{_d(rng, 6)}", f"{rng.randint(2022, 2026)}/{_d(rng, 5)}"]  # fmt: skip
    return Value(rng.choice(forms), "invoice")


def _case(rng: random.Random, country: str) -> Value:
    forms = [f"CS-{_d(rng, 7)}", f"#{_d(rng, 7)}", _d(rng, 8), f"TCK-{_d(rng, 5)}"]
    return Value(rng.choice(forms), "case")


LOOKALIKES = {"ORDER_ID": _order, "SKU": _sku, "VERSION": _version, "TRACKING": _tracking,
              "DATE": _date, "AMOUNT": _amount, "TIME": _time, "INVOICE": _invoice,
              "CASE": _case}  # fmt: skip

"""Postal addresses without an NER model: street lines and postcodes, joined into one span.

A street line is a house number and a street-type word in the country's order ("12 Larkspur
Road", "12 rue des Lilas", "Lindenstraße 14a", "Calle de Alcalá 164", "Via Roma 5"). Postcodes
with a shape of their own (UK, Canada, a US state + ZIP, an Australian state + postcode) count
alone; plain digits (five-digit European codes, Dutch 1234 AB, Indian PIN) only right after a
street line or after address wording. Parts of one address — street, town, postcode, on one
line or on consecutive lines — become one POSTAL_ADDRESS span.
"""

from __future__ import annotations

import re

from presidio_analyzer import LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from tunesmith.data.pii_recognizers import recognizer_result

_CAP = r"[A-ZÀ-ÖØ-Þ][\w'’-]*"
_EN_TYPES = (
    "Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Boulevard|Blvd|Court|Ct|Close|Crescent|Cres|"
    "Way|Place|Pl|Terrace|Tce|Highway|Hwy|Parade|Pde|Square|Sq|Gardens|Grove|Mews|Row|Circle|"
    "Cir|Trail|Parkway|Pkwy"
)
_PARTICLE = (
    r"(?:(?:de|du|des|del|la|las|los|le|el|dei|degli|della|delle|di|da|van|der)(?!\w)|l'|d')"
)
_STREETS = [
    # 12 Larkspur Road, Unit 4/12 Beach Parade, Flat 3, 27 Kingsway Close
    rf"(?:(?:Unit|Flat|Apt|Suite)\s+\d+[A-Z]?,?\s+|\d+/)?\b\d{{1,5}}[A-Z]?\s+(?:{_CAP}\s+){{1,3}}"
    rf"(?:{_EN_TYPES})\b\.?(?:,?\s+(?:Apt|Suite|Unit|#)\s*\d+[A-Z]?)?",
    # 12 bis rue des Lilas, 1348, rue Sherbrooke Est
    rf"\b\d{{1,4}}(?:\s?(?:bis|ter))?,?\s+(?i:rue|avenue|av\.|boulevard|bd|place|allée|impasse|"
    rf"chemin|quai|cours|route|square)(?:\s+(?:{_PARTICLE}|{_CAP}))+",
    # Lindenstraße 14a, Keizersgracht 221-3, Berliner Straße 12
    r"\b[A-ZÄÖÜ][a-zäöüß]{2,}(?:straße|strasse|str\.|weg|allee|ring|gasse|platz|damm|ufer|"
    r"gracht|straat|laan|kade|plein|singel|dijk|steeg)\s+\d{1,4}(?: bis\b| ?[a-zA-Z]\b)?(?:-\d+)?",
    r"\b[A-ZÄÖÜ][a-zäöüß]+\s+(?:Straße|Strasse|Str\.|Weg|Allee|Platz|Ring|Gasse)\s+\d{1,4}[a-z]?\b",
    # Calle de Alcalá 164, C/ Mayor, 76, Via XX Settembre 3, Viale dei Pini 67/B
    rf"\b(?:Calle|C/|Avda\.?|Avenida|Av\.|Paseo|Plaza|Pza\.?|Camino|Carrer|Passeig|Ronda|Via|"
    rf"Viale|Piazza|Piazzale|Corso|Vicolo|Largo|Strada)(?:\s+(?:{_PARTICLE}|{_CAP}|[IVXL]+))+"
    r",?\s+(?:n[º°o]\.?\s*)?\d{1,4}(?:/[A-Z0-9]+)?\b",
]
_STRONG_CODES = [
    r"\b(?:[A-Z]{1,2}\d[A-Z\d]?|GIR) ?\d[ABD-HJLNP-UW-Z]{2}\b",  # UK
    r"\b[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] \d[ABCEGHJ-NPRSTV-Z]\d\b",  # Canada
    r"\b(?:A[KLRZ]|C[AOT]|D[CE]|FL|GA|HI|I[ADLN]|K[SY]|LA|M[ADEINOST]|N[CDEHJMVY]|O[HKR]|PA|"
    r"RI|S[CD]|T[NX]|UT|V[AT]|W[AIVY])\s+\d{5}(?:-\d{4})?\b",  # US state + ZIP
    r"\b(?:NSW|VIC|QLD|WA|SA|TAS|ACT|NT)\s+\d{4}\b",  # Australia
]
_WEAK_CODES = [
    # FR DE ES IT: five digits and the town, "(PR)" for an Italian province
    rf"(?<![-/])\b\d{{5}}\s+{_CAP}(?:\s+(?:im|am|an der|{_CAP}))*(?:\s+\([A-Z]{{2}}\))?",
    r"(?<![-/])\b[1-9]\d{3} ?[A-Z]{2}\b",  # Netherlands
    r"(?<![-/])\b\d{3} ?\d{3}\b",  # India PIN
]
_STREET = re.compile("|".join(f"(?:{s})" for s in _STREETS))
_STRONG = re.compile("|".join(f"(?:{s})" for s in _STRONG_CODES))
_WEAK = re.compile("|".join(f"(?:{s})" for s in _WEAK_CODES))
_ADDRESS_WORDS = re.compile(
    r"(?:address|adresse|anschrift|direcci[oó]n|domicilio|indirizzo|adres|ship(?:ped)? to|"
    r"deliver(?:ed|y)? to|lives? at|postcode|post code|zip|PLZ|code postal)",
    re.IGNORECASE,
)
# Between two parts of one address: a town, a comma, a line break, "(Québec)", " - ".
_GAP = re.compile(
    rf"[ \t]*(?:[,\n-][ \t]*|(?:{_CAP}|\([^\W\d]+\)|\d{{1,2}}[º°ª](?: ?[A-Z]\b)?)[ \t]*){{0,6}}"
)
# Street-type words and postcode shapes: most ticket text has neither, and then the street
# patterns (which try every position) do not run.
_HINT = re.compile(
    rf"\b(?:{_EN_TYPES})\b|(?i:\b(?:rue|avenue|boulevard|allée|impasse|chemin|place|quai|calle|"
    r"avda|avenida|paseo|plaza|carrer|passeig|via|viale|piazza|corso|vicolo|largo)\b|C/)|"
    r"(?i:straße|strasse|str\.|weg|allee|ring|gasse|platz|gracht|straat|laan|kade|plein|singel|"
    r"dijk|steeg|damm|ufer) \d|[A-Z]\d[A-Z\d]? ?\d[A-Z]{2}\b|"
    r"\b[A-Z]{2,3} \d{4}"
)


class PostalAddressRecognizer(LocalRecognizer):
    """Street lines and postcodes, joined into one span per address."""

    def __init__(self) -> None:
        super().__init__(supported_entities=["POSTAL_ADDRESS"], name="PostalAddressRecognizer")

    def load(self) -> None:
        pass

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if not _HINT.search(text):
            return []
        strong = [m.span() for m in _STREET.finditer(text)]
        strong += [m.span() for m in _STRONG.finditer(text)]
        weak = [m.span() for m in _WEAK.finditer(text)]
        spans = sorted(strong)
        for start, end in weak:
            if any(s < end and start < e for s, e in spans):
                continue
            near = [e for _, e in spans if e <= start and self._joins(text, e, start)]
            if near or _ADDRESS_WORDS.search(text[max(0, start - 60) : start]):
                spans.append((start, end))
        merged: list[list[int]] = []
        for start, end in sorted(spans):
            if merged and (start <= merged[-1][1] or self._joins(text, merged[-1][1], start)):
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        return [
            recognizer_result("POSTAL_ADDRESS", start, end, 0.9, self.name) for start, end in merged
        ]

    @staticmethod
    def _joins(text: str, end: int, start: int) -> bool:
        gap = text[end:start]
        return len(gap) <= 60 and gap.count("\n") <= 2 and bool(_GAP.fullmatch(gap))

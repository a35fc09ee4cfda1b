"""National identity numbers outside the US, and passport numbers, with Presidio's machinery.

Each country's number is a Presidio `PatternRecognizer`: Presidio's own where it ships one
(UK NINO, Spanish DNI/NIE, Italian codice fiscale, German Steuer-ID, Indian Aadhaar and PAN,
Australian TFN, Canadian SIN) with its checksum in `validate_result` / `invalidate_result`;
ours for the French NIR (mod-97 key), the Dutch BSN (11-test) and the German identity card.
A number whose shape is common in tickets (nine or twelve plain digits) only counts with the
country's wording just before it ("BSN", "SIN", "Aadhaar"); passports always need it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# before any Presidio import, so it does not pull in transformers
import tunesmith.data.presidio_light  # noqa: F401

# isort: split
from presidio_analyzer import LocalRecognizer, Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import (
    AuTfnRecognizer,
    CaSinRecognizer,
    DeTaxIdRecognizer,
    EsNieRecognizer,
    EsNifRecognizer,
    InAadhaarRecognizer,
    InPanRecognizer,
    ItFiscalCodeRecognizer,
    UkNinoRecognizer,
)

from tunesmith.data.pii_recognizers import recognizer_result

_CASE_SENSITIVE = re.MULTILINE


class _FrNir(PatternRecognizer):
    """French social security number: 13 digits and a key = 97 - (number mod 97)."""

    def __init__(self) -> None:
        regex = r"\b[12] ?\d{2} ?(?:0[1-9]|1[0-2]|[2-9]\d) ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}\b"
        super().__init__("FR_NIR", patterns=[Pattern("NIR", regex, 0.5)], name="FrNir")

    def validate_result(self, pattern_text: str) -> bool:
        compact = pattern_text.replace(" ", "").upper()
        body = compact[:13].replace("2A", "19").replace("2B", "18")
        return int(compact[13:]) == 97 - int(body) % 97


class _NlBsn(PatternRecognizer):
    """Dutch citizen service number: nine digits passing the 11-test."""

    def __init__(self) -> None:
        regex = r"\b\d{4}\.?\d{2}\.?\d{3}\b|\b\d{9}\b"
        super().__init__("NL_BSN", patterns=[Pattern("BSN", regex, 0.3)], name="NlBsn")

    def validate_result(self, pattern_text: str) -> bool:
        digits = [int(c) for c in pattern_text if c.isdigit()]
        weights = [9, 8, 7, 6, 5, 4, 3, 2, -1]
        return sum(d * w for d, w in zip(digits, weights, strict=True)) % 11 == 0


class _DeIdCard(PatternRecognizer):
    """German identity card: nine ICAO characters, with or without the MRZ check digit."""

    def __init__(self) -> None:
        regex = r"\b[CFGHJKLMNPRTVWXYZ][CFGHJKLMNPRTVWXYZ0-9]{8}\d?\b"
        super().__init__(
            "DE_ID_CARD",
            patterns=[Pattern("Personalausweis", regex, 0.5)],
            name="DeIdCard",
            global_regex_flags=_CASE_SENSITIVE,
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        if not any(c.isdigit() for c in pattern_text):
            return False
        if len(pattern_text) == 10:  # 7-3-1 weights over the nine characters
            total = sum(int(c, 36) * (7, 3, 1)[i % 3] for i, c in enumerate(pattern_text[:9]))
            return total % 10 == int(pattern_text[9])
        return None


class _DeTaxId(DeTaxIdRecognizer):
    """Presidio's Steuer-ID check on eleven digits, also when written in groups."""

    def __init__(self) -> None:
        pattern = Pattern("Steuer-ID", r"\b[1-9]\d ?\d{3} ?\d{3} ?\d{3}\b", 0.3)
        super().__init__(patterns=[pattern], supported_language="en")

    def validate_result(self, pattern_text: str) -> bool | None:
        return super().validate_result(pattern_text.replace(" ", ""))


class _EsNie(EsNieRecognizer):
    """Presidio's NIE letter check, also on "Y-1234567-X"."""

    def __init__(self) -> None:
        pattern = Pattern("NIE", r"\b[X-Z]-?\d{7}-?[A-Z]\b", 0.5)
        super().__init__(patterns=[pattern], supported_language="en")

    def validate_result(self, pattern_text: str) -> bool:
        return super().validate_result(pattern_text.replace("-", ""))


@dataclass(frozen=True)
class _Id:
    recognizer: PatternRecognizer
    hint: re.Pattern[str]  # cheap test that the text can hold one
    context: re.Pattern[str] | None  # required just before the number, when set
    gate: bool = True  # skip texts where the context words appear nowhere


def _words(*words: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)(?:" + "|".join(words) + r")(?!\w)", re.IGNORECASE)


def _national_ids() -> list[_Id]:
    en = {"supported_language": "en"}
    digits9 = re.compile(r"\d{3}")
    return [
        _Id(UkNinoRecognizer(), re.compile(r"[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]"), None),
        _Id(_FrNir(), re.compile(r"\b[12] ?\d\d ?\d\d ?[0-9AB]{2} ?\d{3} ?\d{3} ?\d\d\b"), None),
        _Id(
            _DeTaxId(),
            re.compile(r"\d{5}"),
            _words("steuer[- ]?id", r"steuerliche\s+identifikationsnummer", "idnr", "tax id"),
        ),
        _Id(
            _DeIdCard(),
            re.compile(r"[A-Z0-9]{9}"),
            _words(r"personalausweis[\w-]*", r"ausweis\w*", "id card", "identity card"),
        ),
        _Id(EsNifRecognizer(**en), re.compile(r"\d{7}-?[A-Z]"), None),
        _Id(_EsNie(), re.compile(r"[X-Z]-?\d{7}"), None),
        _Id(ItFiscalCodeRecognizer(**en), re.compile(r"[A-Z]{6}\d{2}[A-Z]\d"), None),
        _Id(_NlBsn(), digits9, _words("bsn", "burgerservicenummer", "sofi-?nummer")),
        _Id(
            InAadhaarRecognizer(**en),
            re.compile(r"\d{4}[- :]?\d{4}"),
            _words("aadhaar", "aadhar", "uid", "uidai"),
        ),
        _Id(
            InPanRecognizer(patterns=[InPanRecognizer.PATTERNS[0]], **en),
            re.compile(r"[A-Z]{5}\d{4}"),
            None,
        ),
        _Id(AuTfnRecognizer(**en), digits9, _words("tfn", "tax file number")),
        _Id(
            CaSinRecognizer(**en),
            digits9,
            _words("sin", "nas", "social insurance", r"assurance\s+sociale"),
        ),
    ]


class _ContextGated(LocalRecognizer):
    """Runs several Presidio pattern recognisers as one entity type, gated by context."""

    ENTITY: str
    WINDOW = 40

    def __init__(self, ids: list[_Id]) -> None:
        super().__init__(supported_entities=[self.ENTITY], name=type(self).__name__)
        self.ids = ids

    def load(self) -> None:
        pass

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        results = []
        for one in self.ids:
            if not one.hint.search(text):
                continue
            if one.gate and one.context is not None and not one.context.search(text):
                continue
            found = one.recognizer.analyze(text, one.recognizer.supported_entities)
            for r in found:
                before = text[max(0, r.start - self.WINDOW) : r.start]
                has_context = one.context is not None and one.context.search(before)
                if one.context is not None and not has_context:
                    continue
                if r.score < 0.5 and not has_context:
                    continue
                # Above a phone (0.6) or a person (0.85) read over the same digits or words.
                results.append(recognizer_result(self.ENTITY, r.start, r.end, 0.95, self.name))
        return results


class NationalIdRecognizer(_ContextGated):
    """UK, FR, DE, ES, IT, NL, IN, AU and CA national numbers; US SSNs stay US_SSN."""

    ENTITY = "NATIONAL_ID"

    def __init__(self) -> None:
        super().__init__(_national_ids())


class PassportRecognizer(_ContextGated):
    """The first 6–9 character number (digits, or capitals and digits) after the word
    "passport" in one of the supported languages."""

    ENTITY = "PASSPORT"
    _CONTEXT = re.compile(
        r"(?:passport|passeport|reisepass|pasaporte|passaporto|paspoort)\w*"
        r"[^\d\n]{0,20}$",
        re.IGNORECASE,
    )

    def __init__(self) -> None:
        # German serials use the ICAO letters only and may hold no digit at all.
        regex = r"\b(?:(?=[A-Z]*\d)[A-Z0-9]{6,9}|[CFGHJKLMNPRTVWXYZ]{9})\b"
        pattern = Pattern("passport", regex, 0.5)
        recognizer = PatternRecognizer(
            "PASSPORT", patterns=[pattern], name="Passport", global_regex_flags=_CASE_SENSITIVE
        )
        hint = re.compile(r"pass|pasa|pasp", re.IGNORECASE)
        super().__init__([_Id(recognizer, hint, self._CONTEXT, gate=False)])

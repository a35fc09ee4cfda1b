"""Presidio recognisers that work offline and keep look-alikes (order ids, versions) intact.

Presidio supplies the framework, the checksum validators (Luhn, IBAN mod-97, SSN ranges) and
the anonymizer; these classes change what its defaults get wrong for support text with no NLP
model: PERSON without NER, phone numbers that are really order ids, e-mail validation that
would fetch the public-suffix list, and dates of birth that need birth context.
"""

from __future__ import annotations

import re

import phonenumbers

# before any Presidio import, so it does not pull in transformers
import tunesmith.data.presidio_light  # noqa: F401

# isort: split
from presidio_analyzer import LocalRecognizer, Pattern, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    UsSsnRecognizer,
)


def recognizer_result(
    entity: str, start: int, end: int, score: float, name: str
) -> RecognizerResult:
    return RecognizerResult(
        entity_type=entity,
        start=start,
        end=end,
        score=score,
        recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: name},
    )


class _Prefiltered:
    """Skip a recogniser's regexes on text that cannot hold its entity (most ticket text)."""

    HINT: re.Pattern[str]

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        if not self.HINT.search(text):
            return []
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)  # type: ignore[misc]
        return [r for r in results if self.keep(text, r)]

    def keep(self, text: str, result: RecognizerResult) -> bool:
        """Context veto on one match; the default keeps every match."""
        return True


class PrefilteredIbanRecognizer(_Prefiltered, IbanRecognizer):
    HINT = re.compile(r"[A-Za-z]{2}\d{2}")


class PrefilteredSsnRecognizer(_Prefiltered, UsSsnRecognizer):
    HINT = re.compile(r"\d{3}[- .]?\d{2}[- .]?\d{4}")


class PrefilteredIpRecognizer(_Prefiltered, IpRecognizer):
    """IP addresses, except dotted numbers that context calls a version ("firmware 1.0.0.12")."""

    HINT = re.compile(r"\d\.\d{1,3}\.\d|[0-9A-Fa-f]:[0-9A-Fa-f]{0,4}:")
    _VERSION = re.compile(r"(?:version|ver\.?|v|build|firmware|release|rev)\s*$", re.IGNORECASE)

    def keep(self, text: str, result: RecognizerResult) -> bool:
        return not self._VERSION.search(text[max(0, result.start - 12) : result.start])


class OfflineEmailRecognizer(_Prefiltered, EmailRecognizer):
    """Presidio's e-mail pattern, validated by the shape of the domain, not a suffix download."""

    HINT = re.compile(r"@")
    _DOMAIN = re.compile(r"@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,24}$", re.IGNORECASE)

    def validate_result(self, pattern_text: str) -> bool:
        return bool(self._DOMAIN.search(pattern_text))


class AnyGroupingCardRecognizer(_Prefiltered, CreditCardRecognizer):
    """13–19 digits in any grouping of spaces or dashes; Presidio's Luhn check decides.

    Mastercard's 2-series (2221–2720) starts with a 2; a run inside a longer dashed id
    ("022-5473214-3095571") is not a card.
    """

    HINT = re.compile(r"\d{4}")

    def __init__(self) -> None:
        pattern = Pattern(
            "card any grouping", r"(?<![\d-])(?<!\d )[2-6](?:[ -]?\d){12,18}(?![-]?\d)", 0.3
        )
        super().__init__(patterns=[pattern])

    def validate_result(self, pattern_text: str) -> bool | None:
        # Cards are grouped in fours (Amex 4-6-5); "278-6335700-2814633" is an order id.
        if re.search(r"[ -]", pattern_text) and re.search(r"\d{7}", pattern_text):
            return False
        return super().validate_result(pattern_text)


class ContextPhoneRecognizer(LocalRecognizer):
    """libphonenumber matches, minus numbers that context says are ids, not phones."""

    REGIONS = ("US", "GB", "DE", "FR", "IN", "ES", "IT", "NL", "JP", "AU", "BR")
    # whole words: "Moreno" or "Bruno" before a number is no "no." of an id
    _ID_CONTEXT = re.compile(
        r"\b(?:order|ord|invoice|inv|ref|reference|sku|item|build|version|ver|tracking|ticket|code|"
        r"case|serial|part|model|batch|lot|po|acc|account|no\.?|number)\s*(?:no\.?|number|id|#|:)?"
        r"\s*(?:is\s*)?[#:]?\s*$",
        re.IGNORECASE,
    )
    # Dates and SSNs share the digit-and-dash shape; their own recognisers decide on them.
    _NOT_PHONE = re.compile(
        r"^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|\d{3}-\d{2}-\d{4})$"
    )
    _PHONE_CONTEXT = re.compile(
        r"(?:phone|call|tel|telephone|mobile|cell|fax|whatsapp|reach|contact|dial|ring|"
        r"\bph\b|\bmob\b|\btext\b|\bsms\b|\b[mt]:|handy|portable|cellulare|m[oó]vil|"
        r"tel[eé]fono|telefoon|telefon|num[eé]ro|n[uú]mero|nummer|"
        r"(?:my|our|his|her|direct) (?:number|line)(?: is)?)",
        re.IGNORECASE,
    )
    _CANDIDATE = re.compile(
        r"(?<![\w@.+/-])(?:\+\s?\d|\(\d)[\d\s().-]{5,20}\d(?![\w@]|[.-]\d)"
        r"|(?<![\w@.+/-])0\d{2,4}/\d{3,8}(?![\w/])"
        r"|(?<![\w@.+/-])\d[\d\s().-]{5,20}\d(?![\w@]|[.-]\d)"
    )
    # Shapes only phones take, assigned or not: North American 3-3-4, French pairs.
    _PHONE_SHAPE = re.compile(
        r"(?:\+?1[ .-]?)?(?:\([2-9]\d{2}\)\s?|[2-9]\d{2}[ .-])[2-9]\d{2}[ .-]\d{4}"
        r"|0[1-9](?:[ .-]\d{2}){4}"
    )
    # "1Z 643 QT2 95 7078 2396": digits after a letters-and-digits token belong to that id.
    _ID_TAIL = re.compile(r"(?:[A-Za-z]+\d|\d+[A-Za-z])\w*[ -]$")

    def __init__(self) -> None:
        super().__init__(supported_entities=["PHONE_NUMBER"], name="ContextPhoneRecognizer")

    def load(self) -> None:
        pass

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        # Cheap candidates first, libphonenumber only on those: scanning every region's
        # matcher over the whole text cost 20x more on ticket text full of ids and amounts.
        results = []
        for match in self._CANDIDATE.finditer(text):
            start, end = match.span()
            candidate = match.group()
            digits = sum(ch.isdigit() for ch in candidate)
            if not 7 <= digits <= (15 if candidate[0] == "+" else 12):
                continue
            if self._NOT_PHONE.match(candidate) or self._looks_like_id(candidate):
                continue
            if not self._keep(text, start, end):
                continue
            if self._is_phone(candidate, text[max(0, start - 40) : start]):
                results.append(recognizer_result("PHONE_NUMBER", start, end, 0.6, self.name))
        return results

    def _is_phone(self, candidate: str, before: str) -> bool:
        """Valid in a numbering plan; or shaped like a phone (even if the area code is not
        assigned); or possible in a plan with phone context just before."""
        if self._valid(candidate) or self._PHONE_SHAPE.fullmatch(candidate):
            return True
        if candidate.startswith("+") or self._PHONE_CONTEXT.search(before):
            return self._valid(candidate, phonenumbers.is_possible_number)
        return False

    def _valid(self, candidate: str, check=phonenumbers.is_valid_number) -> bool:
        regions = (None,) if candidate.startswith("+") else self.REGIONS
        for region in regions:
            try:
                number = phonenumbers.parse(candidate, region)
            except phonenumbers.NumberParseException:
                continue
            if check(number):
                return True
        return False

    @staticmethod
    def _looks_like_id(candidate: str) -> bool:
        """Versions ("9.5.1.6467", "18.20.17.1984") and dashed codes that end in a short group
        ("98-1188-85") or start with a year ("2024-118-3345")."""
        if candidate.startswith("+"):
            return False
        for sep in ".-":
            groups = candidate.split(sep)
            if len(groups) < 3 or not all(g.isdigit() for g in groups):
                continue
            if sep == "." and (any(len(g) == 1 for g in groups) or len(groups) >= 4):
                return not candidate.startswith("0")
            if sep == "-" and len(groups[-1]) <= 2 and any(len(g) > 2 for g in groups):
                return True
            if sep == "-" and re.fullmatch(r"(?:19|20)\d\d", groups[0]):
                return True
        return False

    def _keep(self, text: str, start: int, end: int) -> bool:
        before = text[max(0, start - 24) : start]
        if self._ID_TAIL.search(before):
            return False
        if before.rstrip().endswith("#") or self._ID_CONTEXT.search(before):
            return bool(self._PHONE_CONTEXT.search(before))  # "phone number: ..." is a phone
        if text[start:end].isdigit():
            # A bare run of digits is an id until context says phone.
            return bool(self._PHONE_CONTEXT.search(text[max(0, start - 40) : start]))
        return True


_MONTHS = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?|"
    # French, German, Spanish, Italian, Dutch month names not already matched above
    r"janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre|"
    r"Januar|Februar|März|Juni|Juli|Oktober|Dezember|enero|febrero|marzo|abril|mayo|junio|"
    r"julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre|gennaio|febbraio|aprile|"
    r"maggio|giugno|luglio|settembre|ottobre|dicembre|januari|februari|maart|mei|augustus|"
    r"oktober)\.?"
)
_DATE = re.compile(
    r"\b(?:\d{1,2}[/.-]\d{1,2}[/.-](?:19|20)?\d{2}|(?:19|20)\d{2}[/.-]\d{1,2}[/.-]\d{1,2}|"
    rf"{_MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+(?:19|20)\d{{2}}|"
    rf"\d{{1,2}}(?:st|nd|rd|th|er|\.)?\s+(?:of\s+|de\s+)?{_MONTHS},?\s+(?:de\s+)?(?:19|20)\d{{2}})"
    r"\b",
    re.IGNORECASE,
)
_BIRTH = re.compile(
    r"(?:born|birth|dob|d\.o\.b|birthday|birthdate|"
    r"\bn[ée]e?\s+le|naissance|geboren|\bgeb\.|geburts\w*|nacid[oa]|nacimiento|"
    r"\bnat[oa]\s+il|nascita|geboorte\w*)",
    re.IGNORECASE,
)


class DateOfBirthRecognizer(LocalRecognizer):
    """A date is a date of birth only when birth context comes just before it."""

    def __init__(self) -> None:
        super().__init__(supported_entities=["DATE_OF_BIRTH"], name="DateOfBirthRecognizer")

    def load(self) -> None:
        pass

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if not _BIRTH.search(text):
            return []
        results, last_end = [], 0
        for m in _DATE.finditer(text):
            # Birth context between the previous date and this one: "DOB 2/15/2002, paid
            # Aug 25, 2026" has one date of birth.
            before = text[max(last_end, m.start() - 40) : m.start()]
            last_end = m.end()
            if _BIRTH.search(before):
                results.append(
                    recognizer_result("DATE_OF_BIRTH", m.start(), m.end(), 0.9, self.name)
                )
        return results

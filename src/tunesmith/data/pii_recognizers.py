"""Presidio recognisers that work offline and keep look-alikes (order ids, versions) intact.

Presidio supplies the framework, the checksum validators (Luhn, IBAN mod-97, SSN ranges) and
the anonymizer; these classes change what its defaults get wrong for support text with no NLP
model: PERSON without NER, phone numbers that are really order ids, e-mail validation that
would fetch the public-suffix list, and dates of birth that need birth context.
"""

from __future__ import annotations

import re

import phonenumbers
import regex
from presidio_analyzer import LocalRecognizer, Pattern, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    UsSsnRecognizer,
)

from tunesmith.data.names import common_words, name_lexicon


def _result(entity: str, start: int, end: int, score: float, name: str) -> RecognizerResult:
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
        return super().analyze(text, entities, nlp_artifacts, regex_flags)  # type: ignore[misc]


class PrefilteredIbanRecognizer(_Prefiltered, IbanRecognizer):
    HINT = re.compile(r"[A-Za-z]{2}\d{2}")


class PrefilteredSsnRecognizer(_Prefiltered, UsSsnRecognizer):
    HINT = re.compile(r"\d{3}[- .]?\d{2}[- .]?\d{4}")


class PrefilteredIpRecognizer(_Prefiltered, IpRecognizer):
    """IP addresses, except dotted numbers that context calls a version ("firmware 1.0.0.12")."""

    HINT = re.compile(r"\d\.\d{1,3}\.\d|[0-9A-Fa-f]:[0-9A-Fa-f]{0,4}:")
    _VERSION = re.compile(r"(?:version|ver\.?|v|build|firmware|release|rev)\s*$", re.IGNORECASE)

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        return [
            r for r in results if not self._VERSION.search(text[max(0, r.start - 12) : r.start])
        ]


class OfflineEmailRecognizer(_Prefiltered, EmailRecognizer):
    """Presidio's e-mail pattern, validated by the shape of the domain, not a suffix download."""

    HINT = re.compile(r"@")
    _DOMAIN = re.compile(r"@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,24}$", re.IGNORECASE)

    def validate_result(self, pattern_text: str) -> bool:
        return bool(self._DOMAIN.search(pattern_text))


class AnyGroupingCardRecognizer(_Prefiltered, CreditCardRecognizer):
    """13–19 digits in any grouping of spaces or dashes; Presidio's Luhn check decides."""

    HINT = re.compile(r"\d{4}")

    def __init__(self) -> None:
        pattern = Pattern("card any grouping", r"\b[3-6](?:[ -]?\d){12,18}\b", 0.3)
        super().__init__(patterns=[pattern])


class ContextPhoneRecognizer(LocalRecognizer):
    """libphonenumber matches, minus numbers that context says are ids, not phones."""

    REGIONS = ("US", "GB", "DE", "FR", "IN", "ES", "IT", "NL", "JP", "AU", "BR")
    _ID_CONTEXT = re.compile(
        r"(?:order|ord|invoice|inv|ref|reference|sku|item|build|version|ver|tracking|ticket|"
        r"case|serial|part|model|batch|lot|po|acc|account|no\.?|number)\s*(?:no\.?|number|id|#|:)?"
        r"\s*[#:]?\s*$",
        re.IGNORECASE,
    )
    # Dates and SSNs share the digit-and-dash shape; their own recognisers decide on them.
    _NOT_PHONE = re.compile(
        r"^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|\d{3}-\d{2}-\d{4})$"
    )
    _PHONE_CONTEXT = re.compile(
        r"(?:phone|call|tel|telephone|mobile|cell|fax|whatsapp|reach|contact|dial|ring|"
        r"(?:my|our|his|her|direct) (?:number|line)(?: is)?)",
        re.IGNORECASE,
    )
    _CANDIDATE = re.compile(
        r"(?<![\w@.+/-])(?:\+\s?\d|\(\d)[\d\s().-]{5,20}\d(?![\w@]|[.-]\d)"
        r"|(?<![\w@.+/-])\d[\d\s().-]{5,20}\d(?![\w@]|[.-]\d)"
    )

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
            if self._NOT_PHONE.match(candidate) or not self._keep(text, start, end):
                continue
            if self._valid(candidate):
                results.append(_result("PHONE_NUMBER", start, end, 0.6, self.name))
        return results

    def _valid(self, candidate: str) -> bool:
        regions = (None,) if candidate.startswith("+") else self.REGIONS
        for region in regions:
            try:
                number = phonenumbers.parse(candidate, region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(number):
                return True
        return False

    def _keep(self, text: str, start: int, end: int) -> bool:
        before = text[max(0, start - 24) : start]
        if before.rstrip().endswith("#") or self._ID_CONTEXT.search(before):
            return bool(self._PHONE_CONTEXT.search(before))  # "phone number: ..." is a phone
        if text[start:end].isdigit():
            # A bare run of digits is an id until context says phone.
            return bool(self._PHONE_CONTEXT.search(text[max(0, start - 40) : start]))
        return True


_MONTHS = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_DATE = re.compile(
    r"\b(?:\d{1,2}[/.-]\d{1,2}[/.-](?:19|20)?\d{2}|(?:19|20)\d{2}[/.-]\d{1,2}[/.-]\d{1,2}|"
    rf"{_MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+(?:19|20)\d{{2}}|"
    rf"\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTHS},?\s+(?:19|20)\d{{2}})\b",
    re.IGNORECASE,
)
_BIRTH = re.compile(r"(?:born|birth|dob|d\.o\.b|birthday|birthdate)", re.IGNORECASE)


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
        return [
            _result("DATE_OF_BIRTH", m.start(), m.end(), 0.9, self.name)
            for m in _DATE.finditer(text)
            if _BIRTH.search(text[max(0, m.start() - 40) : m.start()])
        ]


# Capitalised words only: scanning every word and filtering in Python cost twice as much.
_TOKEN = regex.compile(r"(?<![\w'’-])\p{Lu}[\p{L}\p{M}'’]*(?:-\p{L}[\p{L}\p{M}'’]*)*")
_TRIGGER = re.compile(
    r"(?:my name is|name is|name:|this is|i am|i'm|hi|hello|hey|dear|thanks|thank you|regards|"
    r"cheers|best|sincerely|spoke to|spoke with|talked to|speak to|colleague|customer|agent|"
    r"manager|mr\.?|mrs\.?|ms\.?|dr\.?|cc|signed)[,:]?\s*$",
    re.IGNORECASE,
)


_ENDS_CLAUSE = re.compile(r"[ \t]*(?:[,.!:;\n]|$)")
_NAME_GAPS = (" ", "\u00a0")
_ORGANISATION_WORDS = frozenset(
    """inc ltd llc gmbh ag sa bv plc co corp company group labs lab media health foods marine
    software studio studios analytics traders trading logistics energy energía interiors dental
    outdoor outdoors design systems solutions technologies tech partners consulting bank
    insurance airlines hotel hotels university school clinic hospital store shop services
    holdings industries international ventures capital""".split()
)


class LexiconPersonRecognizer(LocalRecognizer):
    """PERSON without an NER model: capitalised runs scored by a names lexicon and context.

    A run counts when its first token is a known first name or surname that is not an
    everyday word, when a known first name is followed by a known surname, or when a trigger
    ("my name is", "Hi", "Regards,", "spoke to") comes just before it. The run extends over
    following capitalised names (and, after a trigger, unknown words), so "María José
    Fernández" is one span; a run followed by "Ltd", "Labs", "Interiors"… is an organisation.
    """

    MAX_TOKENS = 4

    def __init__(self) -> None:
        super().__init__(supported_entities=["PERSON"], name="LexiconPersonRecognizer")
        self.first, self.last = name_lexicon()
        self.common = common_words()

    def load(self) -> None:
        pass

    def _is_name(self, token: str) -> bool:
        return token in self.first or token in self.last

    def _common(self, word: str) -> bool:
        folded = word.lower().replace("’", "'")
        if "'" in folded:
            folded = folded.split("'")[0]  # "I’m", "We’ll"
        return folded in self.common or word.isupper() or len(word) == 1

    def _inside_proper_noun(
        self, text: str, previous: regex.Match[str], head: regex.Match[str]
    ) -> bool:
        word = previous.group()
        adjacent = text[previous.end() : head.start()] in (" ", "\u00a0")
        return adjacent and not self._common(word) and not self._is_name(word)

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        tokens = list(_TOKEN.finditer(text))
        results: list[RecognizerResult] = []
        i = 0
        while i < len(tokens):
            found = self._name_at(text, tokens, i)
            if found is None:
                i += 1
                continue
            j, score = found
            results.append(_result("PERSON", tokens[i].start(), tokens[j].end(), score, self.name))
            i = j + 1
        return results

    def _name_at(
        self, text: str, tokens: list[regex.Match[str]], i: int
    ) -> tuple[int, float] | None:
        """(index of the last token, score) of a name starting at token i, else None."""
        head = tokens[i]
        word = head.group()
        is_name = word in self.first or word in self.last
        common = self._common(word)
        nxt = self._adjacent(text, tokens, i) if not (common and word not in self.first) else None
        # "Maria Garcia", or an unknown given name before a known surname ("Xin Castillo").
        paired = nxt is not None and nxt.group() in self.last and not self._common(nxt.group())
        paired = paired and (word in self.first or (not is_name and not common))
        if common and not paired:
            # "Hi Can," or "Regards,\nGrace": an everyday word counts only as the whole
            # addressee of a greeting or sign-off.
            follower = self._adjacent(text, tokens, i)
            addressee = _ENDS_CLAUSE.match(text, head.end()) or (
                follower is not None and not self._common(follower.group())
            )
            if not (is_name and addressee and self._triggered(text, head)):
                return None  # "Thanks, Grace Hopper" counts; "Regards, Will do" does not
            triggered = True
        else:
            triggered = self._triggered(text, head)
            if not (is_name or paired or triggered):
                return None
        if (
            not (triggered or paired)
            and i > 0
            and self._inside_proper_noun(text, tokens[i - 1], head)
        ):
            return None  # "Tidewater Marine": a lexicon word inside a company or place name
        j = i
        while j - i + 1 < self.MAX_TOKENS:
            follower = self._adjacent(text, tokens, j)
            if follower is None or self._common(follower.group()):
                break
            # After a known first name an unknown capitalised word is the surname ("Maria
            # Al-Sayed"); after anything else only names extend the run.
            if not (self._is_name(follower.group()) or triggered or paired or word in self.first):
                break
            j += 1
        after = self._adjacent(text, tokens, j)
        run = [t.group().lower() for t in tokens[i : j + 1]]
        if any(w in _ORGANISATION_WORDS for w in [*run, after.group().lower() if after else ""]):
            return None  # "Birch Interiors", "Tidewater Marine", "Sakura Design"
        return j, 0.85 if (triggered or paired or j > i) else 0.6

    @staticmethod
    def _triggered(text: str, head: regex.Match[str]) -> bool:
        return bool(_TRIGGER.search(text, max(0, head.start() - 16), head.start()))

    @staticmethod
    def _adjacent(text: str, tokens: list[regex.Match[str]], j: int) -> regex.Match[str] | None:
        if j + 1 < len(tokens) and text[tokens[j].end() : tokens[j + 1].start()] in _NAME_GAPS:
            return tokens[j + 1]
        return None

"""Stage 4, PII: detect personal data with Presidio, offline, and mask it.

The analyzer runs with Presidio's no-op NLP engine (no spaCy model to download) and the
recognisers of `pii_recognizers`; the anonymizer applies one of three masks:

- placeholder: `<PERSON_1>`, the same value gets the same number within a record;
- pseudonym: a realistic fake from Faker, seeded by an HMAC of the value under a secret key,
  so one person is the same fake person across the whole dataset and the key never leaves
  the environment;
- redact: the value is removed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from faker import Faker

# before any Presidio import, so it does not pull in transformers
import tunesmith.data.presidio_light  # noqa: F401

# isort: split
from presidio_analyzer import (
    AnalyzerEngine,
    EntityRecognizer,
    Pattern,
    PatternRecognizer,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpArtifacts, NoOpNlpEngine
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig

from tunesmith.config import PiiConfig
from tunesmith.data.person import LexiconPersonRecognizer
from tunesmith.data.pii_address import PostalAddressRecognizer
from tunesmith.data.pii_ids import NationalIdRecognizer, PassportRecognizer
from tunesmith.data.pii_recognizers import (
    AnyGroupingCardRecognizer,
    ContextPhoneRecognizer,
    DateOfBirthRecognizer,
    OfflineEmailRecognizer,
    PrefilteredIbanRecognizer,
    PrefilteredIpRecognizer,
    PrefilteredSsnRecognizer,
)

SCORE_THRESHOLD = 0.35
_FIELD_GAP = "\n\n\n"
# "customer_name", "FirstName", "contact name"; not "product_name", "hostname", "filename".
_NAME_COLUMN = re.compile(
    r"(?:(?:customer|client|contact|first|last|full|given|family|middle|sur|agent|employee|"
    r"person|patient)[ _-]?)?name",
    re.IGNORECASE,
)
_NAME_VALUE = re.compile(r"[^\W\d_][\w'’.-]*(?: [^\W\d_][\w'’.-]*){0,4}")


class PiiKeyError(ValueError):
    """Pseudonym mode without a key in the environment."""


@dataclass(frozen=True)
class Finding:
    """One detected value: where, what type, and how sure."""

    field: str
    start: int
    end: int
    entity: str
    score: float


def build_analyzer(config: PiiConfig) -> AnalyzerEngine:
    """An AnalyzerEngine that loads no model and makes no network call."""
    builtin = {
        "PERSON": LexiconPersonRecognizer,
        "EMAIL_ADDRESS": OfflineEmailRecognizer,
        "PHONE_NUMBER": ContextPhoneRecognizer,
        "CREDIT_CARD": AnyGroupingCardRecognizer,
        "IBAN_CODE": PrefilteredIbanRecognizer,
        "US_SSN": PrefilteredSsnRecognizer,
        "IP_ADDRESS": PrefilteredIpRecognizer,
        "DATE_OF_BIRTH": DateOfBirthRecognizer,
        "POSTAL_ADDRESS": PostalAddressRecognizer,
        "NATIONAL_ID": NationalIdRecognizer,
        "PASSPORT": PassportRecognizer,
    }
    registry = RecognizerRegistry(supported_languages=["en"])
    for entity in config.entities:
        registry.add_recognizer(builtin[entity]())
    for custom in config.custom:
        pattern = Pattern(custom.name, custom.pattern, 1.0)
        registry.add_recognizer(PatternRecognizer(custom.name, patterns=[pattern]))
    engine = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}])
    return AnalyzerEngine(
        registry=registry,
        nlp_engine=engine,
        supported_languages=["en"],
        context_aware_enhancer=_NoContextEnhancer(),
    )


class _NoContextEnhancer(ContextAwareEnhancer):
    """Presidio's lemma enhancer needs NLP tokens we don't have; our recognisers read context
    themselves, and the enhancer's deep copies cost a fifth of the analysis time."""

    def __init__(self) -> None:
        super().__init__(0, 0, 0, 0)

    def enhance_using_context(
        self,
        text: str,
        raw_results: list[RecognizerResult],
        nlp_artifacts: NlpArtifacts,
        recognizers: list[EntityRecognizer],
        context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        return raw_results


def _resolve_overlaps(results: list[RecognizerResult]) -> list[RecognizerResult]:
    """Keep the surest of overlapping findings (then the longest), so counts mean something."""
    kept: list[RecognizerResult] = []
    for result in sorted(results, key=lambda r: (-r.score, -(r.end - r.start), r.start)):
        if all(result.end <= k.start or result.start >= k.end for k in kept):
            kept.append(result)
    return sorted(kept, key=lambda r: r.start)


def _merge_adjacent(text: str, results: list[RecognizerResult]) -> list[RecognizerResult]:
    """Join same-type findings split only by spaces ("Takeshi" "Green"), as the anonymizer would."""
    merged: list[RecognizerResult] = []
    for result in results:
        last = merged[-1] if merged else None
        if (
            last is not None
            and last.entity_type == result.entity_type
            and text[last.end : result.start].strip(" \t") == ""
            and "\n" not in text[last.end : result.start]
        ):
            last.end = result.end
            last.score = max(last.score, result.score)
        else:
            merged.append(result)
    return merged


class PiiMasker:
    """Detects and masks personal data in the text fields of a record."""

    def __init__(self, config: PiiConfig, key: bytes | None = None) -> None:
        if config.mode == "pseudonym" and not key:
            raise PiiKeyError(
                f"data.pii.mode is 'pseudonym' but ${config.pseudonym_key_env} is not set"
            )
        self.config = config
        self.analyzer = build_analyzer(config)
        self.entities = [*config.entities, *(c.name for c in config.custom)]
        self.anonymizer = AnonymizerEngine()
        self.key = key or b""
        self._faker = Faker("en_US")
        self._pseudonyms: dict[tuple[str, str], str] = {}

    def detect(self, fields: dict[str, str]) -> list[Finding]:
        """Findings over all scanned fields, analysed as one text to pay Presidio's cost once."""
        names = [n for n, v in fields.items() if v and n not in self.config.skip_fields]
        if not names:
            return []
        offsets, parts, position = [], [], 0
        for name in names:
            offsets.append((name, position, position + len(fields[name])))
            parts.append(fields[name])
            position += len(fields[name]) + len(_FIELD_GAP)
        text = _FIELD_GAP.join(parts)
        results = self.analyzer.analyze(
            text, language="en", entities=self.entities, score_threshold=SCORE_THRESHOLD
        )
        results += self._name_columns(fields, offsets)
        findings = []
        for result in _merge_adjacent(text, _resolve_overlaps(results)):
            for name, start, end in offsets:
                if start <= result.start and result.end <= end:
                    findings.append(
                        Finding(
                            name,
                            result.start - start,
                            result.end - start,
                            result.entity_type,
                            result.score,
                        )
                    )
                    break
        return findings

    def _name_columns(
        self, fields: dict[str, str], offsets: list[tuple[str, int, int]]
    ) -> list[RecognizerResult]:
        """A short value in a name column ("customer_name") is a PERSON as a whole; a
        conversation's leaf ("messages.1.tool_calls.0.function.arguments.customer_name") is
        named by its last key."""
        if "PERSON" not in self.entities:
            return []
        results = []
        for name, start, _ in offsets:
            column = name.rpartition(".")[2]
            is_name_column = (
                name in self.config.name_fields or column in self.config.name_fields
                if self.config.name_fields is not None
                else bool(_NAME_COLUMN.fullmatch(column))
            )
            value = fields[name]
            if is_name_column and _NAME_VALUE.fullmatch(value):
                results.append(RecognizerResult("PERSON", start, start + len(value), 0.95))
        return results

    def mask(self, fields: dict[str, str]) -> tuple[dict[str, str], Counter[str]]:
        """Masked copies of `fields` and the count of values found per entity type."""
        return self._mask(fields, None)

    def mask_with_values(
        self, fields: dict[str, str]
    ) -> tuple[dict[str, str], Counter[str], dict[str, str]]:
        """As `mask`, and the value each replacement stands for: what a server needs to put a
        caller's own values back into an answer. The caller holds it in memory, never stores it."""
        values: dict[str, str] = {}
        masked, counts = self._mask(fields, values)
        return masked, counts, values

    def _mask(
        self, fields: dict[str, str], values: dict[str, str] | None
    ) -> tuple[dict[str, str], Counter[str]]:
        findings = self.detect(fields)
        counts: Counter[str] = Counter(f.entity for f in findings)
        if not findings:
            return fields, counts
        numbering = _number_in_reading_order(findings, fields)
        masked = dict(fields)
        for name in dict.fromkeys(f.field for f in findings):
            results = [
                RecognizerResult(f.entity, f.start, f.end, f.score)
                for f in findings
                if f.field == name
            ]
            operators = {
                entity: self._operator(entity, numbering, values)
                for entity in {r.entity_type for r in results}
            }
            masked[name] = self.anonymizer.anonymize(fields[name], results, operators).text
        return masked, counts

    def _operator(
        self,
        entity: str,
        numbering: dict[tuple[str, str], int],
        values: dict[str, str] | None = None,
    ) -> OperatorConfig:
        if self.config.mode == "redact":
            return OperatorConfig("redact", {})
        if self.config.mode == "pseudonym":
            return OperatorConfig(
                "custom", {"lambda": _noting(lambda value: self.pseudonym(entity, value), values)}
            )

        def placeholder(value: str) -> str:
            key = (entity, _fold(value))
            if key not in numbering:  # the anonymizer joined spans we had kept apart
                numbering[key] = 1 + max(
                    (n for (e, _), n in numbering.items() if e == entity), default=0
                )
            return f"<{entity}_{numbering[key]}>"

        return OperatorConfig("custom", {"lambda": _noting(placeholder, values)})

    def pseudonym(self, entity: str, value: str) -> str:
        """A fake value of the same type, the same for the same input under the same key."""
        if entity == "PERSON":
            # Per token, so "Maria" and "Maria Garcia" stay the same fake person.
            tokens = value.split()
            fakes = [
                self._fake("PERSON_FIRST" if i == 0 else "PERSON_LAST", t)
                for i, t in enumerate(tokens)
            ]
            return " ".join(fakes)
        return self._fake(entity, value)

    def _fake(self, kind: str, value: str) -> str:
        cache_key = (kind, _fold(value))
        if cache_key not in self._pseudonyms:
            digest = hmac.new(self.key, f"{kind}\x00{cache_key[1]}".encode(), hashlib.sha256)
            seed = int.from_bytes(digest.digest()[:8], "big")
            self._faker.seed_instance(seed)
            make = _FAKES.get(kind)
            fake = make(self._faker, value) if make else _shape_preserving(value, seed)
            self._pseudonyms[cache_key] = fake
        return self._pseudonyms[cache_key]


def _number_in_reading_order(
    findings: list[Finding], fields: dict[str, str]
) -> dict[tuple[str, str], int]:
    """Placeholder numbers in order of appearance; "Maria" after "Maria Garcia" is the same 1."""
    order = {name: i for i, name in enumerate(fields)}
    numbering: dict[tuple[str, str], int] = {}
    per_type: Counter[str] = Counter()
    for finding in sorted(findings, key=lambda f: (order[f.field], f.start)):
        value = _fold(fields[finding.field][finding.start : finding.end])
        key = (finding.entity, value)
        if key in numbering:
            continue
        if finding.entity == "PERSON" and " " not in value:
            earlier = [n for (e, v), n in numbering.items() if e == "PERSON" and value in v.split()]
            if earlier:
                numbering[key] = earlier[0]
                continue
        per_type[finding.entity] += 1
        numbering[key] = per_type[finding.entity]
    return numbering


def _noting(replace: Callable[[str], str], values: dict[str, str] | None) -> Callable[[str], str]:
    """`replace`, noting in `values` which value each replacement stood for; the longest wins
    ("Maria Garcia" and a later "Maria" share `<PERSON_1>`: the full name is the better fill)."""
    if values is None:
        return replace

    def noted(value: str) -> str:
        replacement = replace(value)
        if len(value) > len(values.get(replacement, "")):
            values[replacement] = value
        return replacement

    return noted


def _fold(value: str) -> str:
    return re.sub(r"\s+", " ", value).strip().casefold()


def _shape_preserving(value: str, seed: int) -> str:
    """Phones, cards, SSNs and custom ids keep their layout; digits after the first change."""
    digits = str(seed).zfill(20)
    out, k = [], 0
    for ch in value:
        if ch.isdigit() and k > 0:
            out.append(digits[k % len(digits)])
        else:
            out.append(ch)
        k += ch.isdigit()
    return "".join(out)


_FAKES: dict[str, Callable[[Faker, str], str]] = {
    "PERSON_FIRST": lambda f, v: f.first_name(),
    "PERSON_LAST": lambda f, v: f.last_name(),
    "EMAIL_ADDRESS": lambda f, v: f.email(),
    "IBAN_CODE": lambda f, v: f.iban(),
    "IP_ADDRESS": lambda f, v: f.ipv6() if ":" in v else f.ipv4_public(),
    "DATE_OF_BIRTH": lambda f, v: f.date_of_birth(minimum_age=18, maximum_age=90).isoformat(),
    "POSTAL_ADDRESS": lambda f, v: f.address().replace("\n", ", "),
}

"""PERSON without an NER model: a names lexicon, capitalisation and context rules."""

from __future__ import annotations

import re

import regex

# before any Presidio import, so it does not pull in transformers
import tunesmith.data.presidio_light  # noqa: F401

# isort: split
from presidio_analyzer import LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from tunesmith.data.names import common_words, name_lexicon
from tunesmith.data.pii_recognizers import recognizer_result

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
            results.append(
                recognizer_result("PERSON", tokens[i].start(), tokens[j].end(), score, self.name)
            )
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

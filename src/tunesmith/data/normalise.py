"""Stage 2, normalise: repair text for output, and a folded key for matching.

The output keeps the author's characters (ftfy repair, NFC, tidy whitespace); the key folds
everything a reader would call "the same text" (full-width forms, non-breaking spaces, curly
quotes, case) so dedup compares meaning, not bytes.
"""

from __future__ import annotations

import re
import unicodedata

import ftfy
from ftfy.badness import is_bad

from tunesmith.data.records import Row

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u200c\u200d\u2060\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_ANY_SPACE = re.compile(r"\s+")
# UTF-8 read as cp1252/latin-1 leaves a lead-byte letter (Â…ï) before a continuation-byte
# character; text without such a pair has nothing for ftfy's (much slower) test to find.
_MOJIBAKE_PAIR = re.compile(
    "[\u00c2-\u00ef][\u0080-\u00bf\u20ac\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030"
    "\u0160\u2039\u0152\u017d\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161"
    "\u203a\u0153\u017e\u0178]"
)
_NEEDS_TIDY = re.compile(r"  |[\r\t]|\n\n\n| \n|\n ")
_FTFY = ftfy.TextFixerConfig(uncurl_quotes=False, explain=False)
_QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "“": '"', "”": '"', "„": '"', "´": "'"})


def normalise_text(text: str) -> str:
    """Repair mojibake, compose to NFC, drop control characters, collapse runs of spaces."""
    if text.isascii() and not _CONTROL.search(text) and not _NEEDS_TIDY.search(text):
        return text.strip()
    # ftfy's own badness test first: its full fixer on every clean field cost more than the
    # rest of the stage together.
    if (_MOJIBAKE_PAIR.search(text) and is_bad(text)) or "\ufffd" in text:
        text = ftfy.fix_text(text, _FTFY)
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    text = "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()


def match_key(text: str) -> str:
    """NFKC-casefolded, quote-straightened, whitespace-collapsed text used only for matching."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_QUOTES)
    return _ANY_SPACE.sub(" ", text).strip()


def normalise_row(row: Row, fields: list[str] | None = None) -> Row:
    """Normalise `fields` of the row (all when None); the others are not output."""
    names = row.fields if fields is None else fields
    row.fields |= {name: normalise_text(row.fields[name]) for name in names if name in row.fields}
    return row

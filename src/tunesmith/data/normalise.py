"""Stage 2, normalise: repair text for output, and a folded key for matching.

The output keeps the author's characters (ftfy repair, NFC, tidy whitespace); the key folds
everything a reader would call "the same text" (full-width forms, non-breaking spaces, curly
quotes, case) so dedup compares meaning, not bytes.
"""

from __future__ import annotations

import re
import unicodedata

import ftfy

from tunesmith.data.records import Row

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u200c\u200d\u2060\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_ANY_SPACE = re.compile(r"\s+")
_FTFY = ftfy.TextFixerConfig(uncurl_quotes=False, explain=False)
_FTFY_KEY = ftfy.TextFixerConfig(uncurl_quotes=True, explain=False)


def normalise_text(text: str) -> str:
    """Repair mojibake, compose to NFC, drop control characters, collapse runs of spaces."""
    if (
        text.isascii()
        and not _CONTROL.search(text)
        and "  " not in text
        and "\r" not in text
        and "\t" not in text
    ):
        return text.strip()
    text = ftfy.fix_text(text, _FTFY)
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    text = "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()


def match_key(text: str) -> str:
    """NFKC-casefolded, quote-straightened, whitespace-collapsed text used only for matching."""
    text = ftfy.fix_text(text, _FTFY_KEY)
    text = unicodedata.normalize("NFKC", text).casefold()
    return _ANY_SPACE.sub(" ", text).strip()


def normalise_row(row: Row) -> Row:
    row.fields = {name: normalise_text(value) for name, value in row.fields.items()}
    return row

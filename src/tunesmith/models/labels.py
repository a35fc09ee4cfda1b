"""Reading a label or a JSON object out of a model's answer: the one rule eval, the monitor,
review and the server share."""

from __future__ import annotations

import json
import re
from typing import Any


def parse_label(text: str, labels: list[str], answer_prefix: str) -> str | None:
    """The label an answer starts with (after the prefix), the longest that fits; else None."""
    text = text.strip()
    prefix = answer_prefix.strip()
    if prefix and text.casefold().startswith(prefix.casefold()):
        text = text[len(prefix) :].strip()
    best = None
    for label in labels:
        pattern = re.escape(label) + r"(?![\w-])"
        if re.match(pattern, text, flags=re.IGNORECASE) and (
            best is None or len(label) > len(best)
        ):
            best = label
    return best


def parse_json(text: str) -> Any:
    """JSON, also inside a ```json fence as chat models like to write it."""
    text = text.strip()
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", text, flags=re.DOTALL)
    return json.loads(fenced.group(1) if fenced else text)

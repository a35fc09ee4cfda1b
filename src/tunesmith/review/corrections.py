"""The corrected-answer rule: how a picked label and a reviewer's text become the correction.

The review page (through `/v1/review/correction`) and `tunesmith review` both call it, so a
label picked on either side is stored the same way.
"""

from __future__ import annotations

from tunesmith.config import TaskConfig
from tunesmith.review.queue import ReviewError


def corrected_answer(task: TaskConfig, text: str, label: str | None = None) -> str:
    """`text` with `answer_prefix + label` as its first line; `text` as it is without a label.

    The first non-empty line is replaced when it already carries a label (it starts with the
    answer prefix, or with one of the labels when the task has no prefix); otherwise the label
    line goes on top, a blank line above the text. An empty text becomes the label line alone.
    """
    if label is None:
        return text
    labels = task.labels if task.type == "classification" else None
    if not labels or label not in labels:
        raise ReviewError(f"label must be one of {labels or []}, not {label!r}")
    line = task.answer_prefix + label
    lines = text.split("\n")
    at = next((i for i, each in enumerate(lines) if each.strip()), None)
    if at is None:
        return line
    first = lines[at].strip().lower()
    prefix = task.answer_prefix.strip().lower()
    if first.startswith(prefix) if prefix else any(first.startswith(x.lower()) for x in labels):
        lines[at] = line
        return "\n".join(lines)
    return f"{line}\n\n{text}"

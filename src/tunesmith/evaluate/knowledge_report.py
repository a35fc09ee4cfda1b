"""The markdown table of `tunesmith eval --knowledge`: the three settings side by side, the
retrieval metrics and the knowledge update before and after."""

from __future__ import annotations

from typing import Any

COLUMNS = (
    ("value_share", "answer holds the value"),
    ("cites_gold", "cites a gold chunk"),
    ("citation_support", "citations supported"),
    ("cited_answers", "answers with citations"),
    ("prompt_tokens", "prompt tokens"),
    ("ms_per_question", "ms / question"),
)


def cell(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:.3f}" if isinstance(value, float) and abs(value) < 10 else f"{value:.0f}"


def setting_rows(report: dict[str, Any]) -> list[list[str]]:
    return [
        [s["setting"], s["model"], *(cell(s[key]) for key, _ in COLUMNS)]
        for s in report["settings"]
    ]


def update_rows(update: dict[str, Any]) -> list[list[str]]:
    answers = update["answers"]
    return [
        [
            "answers holding the old value",
            cell(answers["before"]["old_value"]),
            cell(answers["after"]["old_value"]),
        ],
        [
            "answers holding the new value",
            cell(answers["before"]["new_value"]),
            cell(answers["after"]["new_value"]),
        ],
        [
            "retrieved chunks holding the old value",
            cell(update["hits_before"]["old_value"]),
            cell(update["hits_with_old_value"]),
        ],
        [
            "retrieved chunks holding the new value",
            cell(update["hits_before"]["new_value"]),
            cell(update["hits_with_new_value"]),
        ],
    ]


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def markdown(report: dict[str, Any]) -> str:
    retrieval = report["retrieval"]
    count = report["questions"]["count"]
    lines = [
        "# Knowledge evaluation: fine-tuning, retrieval and both",
        "",
        f"{count} questions from {report['questions']['file']}, each asked by a caller holding "
        f"its document's groups; index version {report['index_version']}, top {report['top_k']}"
        f" chunks as sources, greedy answers of up to {report['max_new_tokens']} tokens.",
        "",
        f"Retrieval of the gold document: recall@1 {retrieval['recall@1']:.3f}, recall@5 "
        f"{retrieval['recall@5']:.3f}, MRR@10 {retrieval['mrr@10']:.3f}; "
        f"{retrieval['search_ms_per_question']:.1f} ms a search; chunks outside the caller's "
        f"groups: {retrieval['permission_violations']}.",
        "",
    ]
    lines += _table(["setting", "model", *(label for _, label in COLUMNS)], setting_rows(report))
    update = report["update"]
    reindex = update["reindex"]
    lines += [
        "",
        "## Knowledge update",
        "",
        f"{update['edited_facts']} facts rewritten in {len(update['edited_documents'])} "
        f"documents of a copy of the knowledge base; the re-index embedded "
        f"{reindex['embedded']} chunks ({reindex['updated']} documents updated, "
        f"{reindex['unchanged']} unchanged) in {reindex['seconds']:.2f} s. Base + retrieval:",
        "",
    ]
    lines += _table(["share", "before the edit", "after"], update_rows(update))
    lines += [""] + [f"Note: {note}" for note in report["notes"]]
    return "\n".join(lines).rstrip() + "\n"

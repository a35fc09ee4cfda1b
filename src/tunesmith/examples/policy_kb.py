"""Deterministic generator of a policy knowledge base with gold facts and paraphrased questions.

Each document is one topic's policy for one office (``hr/leave-lisbon.md``), Markdown with front
matter naming its access groups. Every section states facts (subject x attribute x value); each
fact comes back with its document, section, value, groups and two question families: ``question``
from family A templates and ``question_heldout`` from family B, written apart, so an embedding
tuned on A can be measured on B. Office and subject name the document, so a question has one
gold answer; values are drawn afresh until unused for their attribute where the range allows.
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from tunesmith.examples.policy_vocabulary import CITIES, FILLERS, GROUPS, INTROS, TOPICS

__all__ = ["GROUPS", "PolicyFact", "Template", "Topic", "generate_policy_kb", "topics"]


@dataclass(frozen=True)
class PolicyFact:
    doc: str  # path relative to the knowledge-base folder, posix separators
    section: str  # the `##` heading the fact sits under
    fact: str  # the sentence, verbatim in the document
    value: str  # the answer, a substring of `fact`
    question: str  # family A paraphrase (train)
    question_heldout: str  # family B paraphrase (measure)
    groups: tuple[str, ...]  # the document's access groups


@dataclass(frozen=True)
class Template:
    spec: str  # "lo-hi[/step] unit" or "time"
    fact: str
    question: str  # family A
    question_heldout: str  # family B


@dataclass
class Topic:
    group: str
    slug: str
    title: str
    subjects: list[tuple[str, str]] = field(default_factory=list)  # (name, paraphrase)
    sections: dict[str, list[Template]] = field(default_factory=dict)


_SPEC = re.compile(r"(\d+)-(\d+)(?:/(\d+))? (.+)")


def topics() -> list[Topic]:
    """Parse ``policy_vocabulary.TOPICS`` (format in that module's docstring)."""
    found: list[Topic] = []
    lines = [line for line in TOPICS.splitlines() if line.strip()]
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("= "):
            head, title = line[2:].split(" | ")
            group, slug = head.split()
            found.append(Topic(group, slug, title))
        elif line.startswith("subjects: "):
            pairs = (pair.split("/") for pair in line[10:].split("; "))
            found[-1].subjects.extend((a.strip(), b.strip()) for a, b in pairs)
        elif line.startswith("## "):
            found[-1].sections[line[3:]] = []
        else:
            spec, fact = line.split(": ", 1)
            template = Template(spec, fact, lines[i + 1].strip(), lines[i + 2].strip())
            list(found[-1].sections.values())[-1].append(template)
            i += 2
        i += 1
    return found


def _value(rng: random.Random, spec: str) -> str:
    if spec == "time":
        return f"{rng.randint(0, 23):02d}:{rng.choice((0, 15, 30, 45)):02d}"
    match = _SPEC.fullmatch(spec)
    if match is None:
        raise ValueError(f"bad value spec {spec!r}")
    low, high, step, unit = match.groups()
    number = rng.randrange(int(low), int(high) + 1, int(step or 1))
    if unit == "€":
        return f"€{number:,}"
    return f"{number}%" if unit == "%" else f"{number} {unit}"


def _fresh_value(rng: random.Random, spec: str, used: set[str]) -> str:
    """A value not yet used for this attribute, if a few draws find one (small ranges repeat)."""
    value = _value(rng, spec)
    for _ in range(20):
        if value not in used:
            break
        value = _value(rng, spec)
    used.add(value)
    return value


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _front_matter(groups: tuple[str, ...], title: str) -> str:
    # a JSON string is a valid YAML scalar, so titles with colons or dashes stay safe
    quoted = json.dumps(title, ensure_ascii=False)
    return f"---\ngroups: [{', '.join(groups)}]\ntitle: {quoted}\n---\n"


def _plan(rng: random.Random, documents: int, all_topics: list[Topic]) -> list[tuple[Topic, str]]:
    """(topic, office) pairs, topics interleaved so any prefix spreads over every group."""
    capacity = len(all_topics) * len(CITIES)
    if not 0 <= documents <= capacity:
        raise ValueError(f"documents must be between 0 and {capacity}, got {documents}")
    offices = {topic.slug: rng.sample(CITIES, len(CITIES)) for topic in all_topics}
    pairs = [(t, offices[t.slug][k]) for k in range(len(CITIES)) for t in all_topics]
    return pairs[:documents]


def _document(
    rng: random.Random, topic: Topic, city: str, doc: str, used: dict[str, set[str]]
) -> tuple[str, list[PolicyFact]]:
    # a quarter of the non-exec documents are shared with exec: documents with two groups
    shared = topic.group != "exec" and rng.random() < 0.25
    groups = ("exec", topic.group) if shared else (topic.group,)  # sorted, as the index keeps them
    title = f"{topic.title} — {city} office"
    subjects = rng.sample(topic.subjects, rng.randint(2, 3))
    parts = [_front_matter(groups, title), f"# {title}\n", rng.choice(INTROS).format(city=city)]
    facts: list[PolicyFact] = []
    for heading, templates in topic.sections.items():
        sentences: list[str] = []
        for t_index, template in enumerate(templates):
            key = f"{topic.slug}/{heading}/{t_index}"
            for subject, paraphrase in subjects:
                slots = {"subject": subject, "subject_b": paraphrase, "city": city}
                value = _fresh_value(rng, template.spec, used.setdefault(key, set()))
                sentence = template.fact.format(value=value, **slots)
                sentences.append(sentence)
                facts.append(
                    PolicyFact(
                        doc=doc,
                        section=heading,
                        fact=sentence,
                        value=value,
                        question=template.question.format(**slots),
                        question_heldout=template.question_heldout.format(**slots),
                        groups=groups,
                    )
                )
        sentences.append(rng.choice(FILLERS).format(city=city, group=topic.group))
        parts.append(f"## {heading}\n")
        parts.append(" ".join(sentences))
    return "\n\n".join(part.rstrip("\n") for part in parts) + "\n", facts


def generate_policy_kb(folder: Path, documents: int, seed: int) -> list[PolicyFact]:
    """Write `documents` Markdown policies under `folder` (one subfolder per topic group) and
    return their facts; the same seed writes the same bytes and returns the same facts."""
    rng = random.Random(seed)
    used: dict[str, set[str]] = {}
    facts: list[PolicyFact] = []
    for topic, city in _plan(rng, documents, topics()):
        doc = f"{topic.group}/{topic.slug}-{_slug(city)}.md"
        text, doc_facts = _document(rng, topic, city, doc, used)
        path = folder / doc
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        facts.extend(doc_facts)
    return facts

"""Privacy and dedup benchmark on generated tickets with known spans and duplicates.

Per PII type: recall (the planted value no longer appears in the masked text), precision
(detections that overlap a planted value), and for look-alikes (order ids, SKUs, versions,
amounts, ticket dates, error codes) the share that survives verbatim. tunesmith's masker and
Presidio's out-of-the-box AnalyzerEngine (no spaCy model, no network, default recognisers)
run side by side on the same rows. Dedup: pairwise precision and recall of duplicate clusters.

    python bench/pii.py [--rows 3000] [--seed 7]
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import tldextract
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
from presidio_analyzer.nlp_engine import NoOpNlpEngine
from rich.console import Console
from rich.table import Table

from results import write_section
from tunesmith.config import CustomEntity, DedupConfig, PiiConfig
from tunesmith.data.dedup import DedupIndex
from tunesmith.data.names import name_lexicon
from tunesmith.data.normalise import normalise_text
from tunesmith.data.pii import Finding, PiiMasker
from tunesmith.data.records import Row
from tunesmith.examples.support_tickets import generate_tickets

TEXT_FIELDS = [
    "customer_name",
    "customer_email",
    "customer_phone",
    "subject",
    "body",
    "agent_reply",
]
ACCOUNT = CustomEntity(name="ACCOUNT_ID", pattern=r"\bACC-\d{6}\b")
INDEPENDENT = Path(__file__).parent.parent / "tests/assets/pii_independent/tickets.jsonl"


def presidio_baseline() -> AnalyzerEngine:
    """Presidio as shipped, held to the same offline rules: no model, no suffix-list fetch."""
    offline = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    tldextract.extract = offline  # the e-mail recogniser calls tldextract.extract
    registry = RecognizerRegistry(supported_languages=["en"])
    registry.load_predefined_recognizers(languages=["en"])
    # Its NER-backed recogniser needs a downloaded spaCy model, which offline rules forbid.
    registry.remove_recognizer("SpacyRecognizer")
    engine = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}])
    return AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=["en"])


def presidio_detect(analyzer: AnalyzerEngine, fields: dict[str, str]) -> list[Finding]:
    found = []
    for name, text in fields.items():
        for r in analyzer.analyze(text, language="en"):
            found.append(Finding(name, r.start, r.end, r.entity_type, r.score))
    return found


def _masked(text: str, findings: list[Finding]) -> str:
    chars = list(text)
    for f in findings:
        for k in range(f.start, f.end):
            chars[k] = "\x00"
    return "".join(chars)


@dataclass
class Sample:
    """One record: its text fields, planted values (field, value, type, parts) and look-alikes."""

    fields: dict[str, str]
    pii: list[tuple[str, str, str, tuple[str, ...]]]
    lookalikes: list[tuple[str, str, str]]


def generated_samples(tickets) -> list[Sample]:
    return [
        Sample(
            {f: normalise_text(t.row[f]) for f in TEXT_FIELDS},
            [(s.field, normalise_text(s.value), s.type, ()) for s in t.pii],
            [(s.field, normalise_text(s.value), s.type) for s in t.lookalikes],
        )
        for t in tickets
    ]


def independent_samples(path: Path = INDEPENDENT) -> list[Sample]:
    """The hand-written set of bench/pii_independent_set.py, one field ("message") per record."""
    samples = []
    for line in path.read_text().splitlines():
        rec = json.loads(line)
        field = next(iter(rec["fields"]))
        samples.append(
            Sample(
                {k: normalise_text(v) for k, v in rec["fields"].items()},
                [
                    (field, normalise_text(p["value"]), p["type"], tuple(p.get("parts", ())))
                    for p in rec["pii"]
                ],
                [(field, normalise_text(p["value"]), p["type"]) for p in rec["lookalikes"]],
            )
        )
    return samples


def leaked(kind: str, value: str, parts: tuple[str, ...], masked: str) -> bool:
    """A name leaks by any of its words, an address by any listed part, the rest verbatim."""
    if kind == "PERSON":
        return any(re.search(rf"(?<!\w){re.escape(t)}(?!\w)", masked) for t in value.split())
    return any(piece in masked for piece in parts or (value,))


def evaluate(samples: list[Sample], detect) -> dict[str, Counter]:
    stats: dict[str, Counter] = defaultdict(Counter)
    seconds = 0.0
    for sample in samples:
        fields = sample.fields
        start = time.perf_counter()
        findings = detect(fields)
        seconds += time.perf_counter() - start
        by_field = defaultdict(list)
        for f in findings:
            by_field[f.field].append(f)
        planted = defaultdict(list)  # field -> [(start, end)]
        for field, value, kind, parts in sample.pii:
            masked = _masked(fields[field], by_field[field])
            stats[kind]["planted"] += 1
            stats[kind]["caught"] += not leaked(kind, value, parts, masked)
            for m in re.finditer(re.escape(value), fields[field]):
                planted[field].append((m.start(), m.end()))
        for field, value, kind in sample.lookalikes:
            masked = _masked(fields[field], by_field[field])
            stats["lookalike:" + kind]["planted"] += 1
            stats["lookalike:" + kind]["survived"] += value in masked
        for f in findings:
            hit = any(f.start < e and s < f.end for s, e in planted[f.field])
            stats["found:" + f.entity]["detections"] += 1
            stats["found:" + f.entity]["correct"] += hit
    stats["_time"]["ms"] = int(seconds * 1000)
    return stats


def dedup_scores(tickets) -> tuple[float, float, int, int]:
    index = DedupIndex(DedupConfig(), ["subject", "body"])
    true_root, predicted_root = {}, {}
    for i, t in enumerate(tickets):
        if t.defect not in (None, "mojibake"):
            continue  # empty, short and malformed rows are quality's, not dedup's
        true_root[i] = true_root[t.dup_of] if t.dup_of is not None else i
        row = Row("bench", i, str(i), {f: normalise_text(v) for f, v in t.row.items()})
        dup = index.check(row)
        predicted_root[i] = predicted_root[int(dup.kept_id)] if dup else i

    def pairs(root: dict[int, int]) -> set[tuple[int, int]]:
        groups = defaultdict(list)
        for i, r in root.items():
            groups[r].append(i)
        return {p for g in groups.values() for p in itertools.combinations(sorted(g), 2)}

    truth, found = pairs(true_root), pairs(predicted_root)
    both = len(truth & found)
    return both / max(1, len(found)), both / max(1, len(truth)), len(truth), len(found)


def _rate(stats: dict[str, Counter], kind: str, hit: str) -> str:
    planted = stats[kind]["planted"]
    return f"{stats[kind][hit] / planted:.3f}" if planted else "–"


def _precision(stats: dict[str, Counter], kind: str) -> str:
    found = stats["found:" + kind]
    return f"{found['correct'] / found['detections']:.3f}" if found["detections"] else "–"


def _both(results: dict[str, dict[str, Counter]], prefix: str) -> list[str]:
    keys = {k for stats in results.values() for k in stats if k.startswith(prefix)}
    if not prefix:
        keys = {k for k in keys if not k.startswith(("lookalike:", "found:", "_"))}
    return sorted(keys)


def _all_lookalikes(stats: dict[str, Counter]) -> tuple[int, float]:
    planted = sum(v["planted"] for k, v in stats.items() if k.startswith("lookalike:"))
    kept = sum(v["survived"] for k, v in stats.items() if k.startswith("lookalike:"))
    return planted, kept / max(1, planted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    tickets = generate_tickets(args.rows, args.seed)
    clean = [t for t in tickets if t.defect is None]
    sets = {"generated": generated_samples(clean), "independent": independent_samples()}
    ours = PiiMasker(PiiConfig(custom=[ACCOUNT]))
    theirs = presidio_baseline()
    results = {
        (name, who): evaluate(samples, detect)
        for name, samples in sets.items()
        for who, detect in (
            ("tunesmith", ours.detect),
            ("presidio", lambda fields: presidio_detect(theirs, fields)),
        )
    }
    dedup_p, dedup_r, n_true, n_found = dedup_scores(tickets)
    n_gen, n_ind = len(sets["generated"]), len(sets["independent"])
    header = ["type"] + [
        f"{s} {c}"
        for s in ("gen", "indep")
        for c in ("planted", "tunesmith recall", "precision", "Presidio recall")
    ]
    table = Table(title=f"PII: {n_gen} generated tickets (seed {args.seed}) | {n_ind} independent")
    for column in header:
        table.add_column(column, justify="left" if column == "type" else "right")
    lines = [
        "## Privacy: PII recall and look-alike survival",
        "",
        f"Two sets. **gen**: {n_gen} generated support tickets (`generate_tickets({args.rows},"
        f" seed={args.seed})` minus defect rows), the set the recognisers were tuned on."
        f" **indep**: {n_ind} hand-written records of `tests/assets/pii_independent/` (written by"
        " `bench/pii_independent_set.py` with its own names, templates, styles and formats in"
        " ten countries, nothing from the generator). Recall = planted value absent after"
        " masking (a name: none of its words; an address: neither its street line nor its"
        " postcode); precision = share of detections overlapping a planted value. Presidio ="
        " `AnalyzerEngine` with its default recognisers, no NLP model and no network.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for kind in _both(results, ""):
        row = [kind]
        for name in sets:
            mine, base = results[(name, "tunesmith")], results[(name, "presidio")]
            planted = mine[kind]["planted"]
            row += [str(planted), _rate(mine, kind, "caught"), _precision(mine, kind)]
            row.append(_rate(base, kind, "caught"))
        table.add_row(*row)
        lines.append("| " + " | ".join(row) + " |")
    look_header = ["look-alike", "gen planted", "gen tunesmith kept", "gen Presidio kept"]
    look_header += ["indep planted", "indep tunesmith kept", "indep Presidio kept"]
    lines += ["", "| " + " | ".join(look_header) + " |", "|" + "---|" * len(look_header)]
    table.add_section()
    for kind in [*_both(results, "lookalike:"), "all"]:
        row = [kind.split(":", 1)[-1]]
        for name in sets:
            mine, base = results[(name, "tunesmith")], results[(name, "presidio")]
            if kind == "all":
                planted, kept = _all_lookalikes(mine)
                row += [str(planted), f"{kept:.3f}", f"{_all_lookalikes(base)[1]:.3f}"]
            else:
                planted = mine[kind]["planted"]
                row += [str(planted), _rate(mine, kind, "survived"), _rate(base, kind, "survived")]
        table.add_row(row[0], row[1], row[2], "", row[3], row[4], row[5], "", row[6])
        lines.append("| " + " | ".join(row) + " |")
    times = {key: stats["_time"]["ms"] for key, stats in results.items()}
    speed = (
        f"Detection time, one core: generated set tunesmith {times[('generated', 'tunesmith')]}"
        f" ms, Presidio {times[('generated', 'presidio')]} ms; independent set tunesmith"
        f" {times[('independent', 'tunesmith')]} ms, Presidio"
        f" {times[('independent', 'presidio')]} ms."
    )
    dedup_line = (
        f"Dedup (exact + MinHash LSH at 0.85, subject+body): pairwise precision {dedup_p:.3f},"
        f" recall {dedup_r:.3f} ({n_true} true duplicate pairs, {n_found} found)."
    )
    first, last = name_lexicon()
    tokens = [w for t in clean for sp in t.pii if sp.type == "PERSON" for w in sp.value.split()]
    in_lexicon = sum(w in first or w in last for w in tokens) / max(1, len(tokens))
    caveat = (
        f"PERSON method: names come from the generator's own lists, not from the Faker lexicon"
        f" the recogniser uses; {in_lexicon:.0%} of planted name tokens are in that lexicon, the"
        " rest are caught by context (greetings, sign-offs, 'my name is', surname after an"
        " unknown given name, name columns). The recogniser's rules were written while looking"
        " at this generator's ticket language, so treat the gen figures as in-domain."
    )
    lines += ["", speed, "", caveat, "", HELD_OUT, "", "## Dedup", "", dedup_line]
    console = Console()
    console.print(table)
    console.print(speed)
    console.print(dedup_line)
    write_section("pii", "\n".join(lines))


HELD_OUT = (
    "How the independent set was used (honestly): it was written first and measured once on"
    " the code of the time (commit 155cca6): PHONE_NUMBER 0.922, CREDIT_CARD 0.821,"
    " DATE_OF_BIRTH 0.514, PERSON 0.993, look-alikes kept 0.940; addresses, passports and"
    " non-US ids were not detected. The changes that followed were made while looking at"
    " its misses, so it is no longer held out: read its figures as a second, differently"
    " written set, not an unseen one."
)


if __name__ == "__main__":
    main()

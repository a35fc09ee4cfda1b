"""The generator's duplicates and defects: near copies, cosmetic exact copies, mojibake."""

from __future__ import annotations

import random
import re

from tunesmith.examples.ticket_spans import Seg, seg_text

NEAR_FILLERS = ["really", "just", "also", "still"]  # inserted after "I " / "we " / "it "
_NEAR_GAP_RE = re.compile(r"\b(?:I|[Ww]e|[Ii]t) (?=[a-z])")


def _shingles(text: str, split: bool) -> set[tuple[str, ...]]:
    toks = text.lower().split() if split else re.findall(r"\w+", text.casefold())
    return {tuple(toks[i : i + 3]) for i in range(max(len(toks) - 2, 0))}


def _jaccard(a: str, b: str) -> float:
    """Word-3-shingle Jaccard similarity, the lower of whitespace and \\w+ tokenisations."""
    scores = []
    for split in (True, False):
        sa, sb = _shingles(a, split), _shingles(b, split)
        scores.append(len(sa & sb) / len(sa | sb) if sa | sb else 1.0)
    return min(scores)


def _edit_once(rng: random.Random, segs: list[Seg]) -> list[Seg]:
    """One small edit to a plain segment: a typo, or an inserted / removed filler word."""
    segs = list(segs)
    plain = [i for i, (t, k) in enumerate(segs) if k is None and re.search(r"[A-Za-z]{5}", t)]
    if not plain:
        return segs
    i = rng.choice(plain)
    text, op = segs[i][0], rng.choice(["typo", "insert", "remove"])
    fillers = list(re.finditer(r" (?:please|just|really|again|also|still|now)\b", text))
    gaps = [(m.end(), f"{rng.choice(NEAR_FILLERS)} ") for m in _NEAR_GAP_RE.finditer(text)]
    gaps += [(m.start(), " again") for m in re.finditer(r"(?<=[a-z]{3})(?=[.?!])", text)]
    if op == "remove" and fillers:
        m = rng.choice(fillers)
        text = text[: m.start()] + text[m.end() :]
    elif op != "typo" and gaps:
        p, word = rng.choice(gaps)
        text = text[:p] + word + text[p:]
    else:
        m = rng.choice(list(re.finditer(r"[A-Za-z]{5,}", text)))
        word, j = m.group(), rng.randrange(1, len(m.group()) - 2)
        swapped = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
        new = swapped if word[j] != word[j + 1] else word[:j] + word[j + 1 :]
        text = text[: m.start()] + new + text[m.end() :]
    segs[i] = (text, None)
    return segs


def near_body(rng: random.Random, subject: str, body: list[Seg]) -> list[Seg]:
    original = f"{subject}\n{seg_text(body)}"
    for _ in range(40):
        segs = body
        for _ in range(rng.choice([1, 1, 2])):
            segs = _edit_once(rng, segs)
        if (
            seg_text(segs) != seg_text(body)
            and _jaccard(original, f"{subject}\n{seg_text(segs)}") >= 0.91
        ):
            return segs
    return [*body, ("\n\nThanks again.", None)]


def _fullwidth(word: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) for c in word)


def _cosmetic(rng: random.Random, op: str, text: str) -> str:
    """A variation that an NFKC + casefold + quote-folding + whitespace-collapsing key ignores."""
    if op in ("case", "fullwidth"):
        words = list(re.finditer(r"[A-Za-z]{3,}" if op == "case" else r"[A-Za-z0-9]{3,}", text))
        if not words:
            return text
        m = rng.choice(words)
        w = m.group()
        new = _fullwidth(w) if op == "fullwidth" else rng.choice([w.upper(), w.lower(), w.title()])
        new = new if new != w else w.swapcase()
        return text[: m.start()] + new + text[m.end() :]
    if op == "quotes":
        if any(q in text for q in "’“”"):
            return text.translate(str.maketrans("’“”", '\'""'))
        parts = text.replace("'", "’").split('"')
        quotes = ["“" if k % 2 == 0 else "”" for k in range(len(parts) - 1)] + [""]
        return "".join(p + q for p, q in zip(parts, quotes, strict=True))
    spaces = [m.start() for m in re.finditer(r"(?<=\S) (?=\S)", text)]
    if not spaces:
        return text
    p = rng.choice(spaces)
    return text[:p] + ("  " if op == "spaces" else "\u00a0") + text[p + 1 :]


def exact_copy(rng: random.Random, segs: dict[str, list[Seg]]) -> dict[str, list[Seg]]:
    out = {k: list(v) for k, v in segs.items()}
    ops = rng.sample(["case", "spaces", "nbsp", "fullwidth", "quotes"], rng.randint(2, 4))
    for op in ops:
        for _ in range(rng.randint(1, 3)):
            fld = rng.choice(["subject", "body", "body", "agent_reply"])
            idx = [i for i, (t, k) in enumerate(out[fld]) if k is None and t.strip()]
            if op == "quotes":
                idx = [i for i in idx if any(q in out[fld][i][0] for q in "'\"’“”")] or idx
            if idx:
                i = rng.choice(idx)
                out[fld][i] = (_cosmetic(rng, op, out[fld][i][0]), None)
    if all(seg_text(out[f]) == seg_text(segs[f]) for f in ("subject", "body", "agent_reply")):
        out["body"] = [(_cosmetic(rng, "spaces", t) if k is None else t, k) for t, k in out["body"]]
    return out


def mojibake(text: str) -> str:
    return text.encode("utf-8").decode("cp1252", errors="replace")

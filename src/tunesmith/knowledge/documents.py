"""Documents of a knowledge base: found in the source folders, parsed to text with their
headings, given their access groups, or skipped with the reason (nothing is dropped silently).

Groups come from a Markdown/text file's YAML front matter (`groups: [hr, exec]`), else from the
nearest `_access.yaml` in its folder or a folder above it (up to the source root), else from
`knowledge.default_groups`; a document with none is skipped: deny by default.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from tunesmith.config.knowledge import KnowledgeConfig, check_groups

ACCESS_FILE = "_access.yaml"
TEXT_SUFFIXES = (".md", ".markdown", ".txt")
HTML_SUFFIXES = (".html", ".htm")
SUFFIXES = (*TEXT_SUFFIXES, *HTML_SUFFIXES, ".pdf")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


@dataclass(frozen=True)
class Document:
    """One parsed document; `text` is what chunks' character spans refer to."""

    doc: str  # path relative to its source folder (prefixed with the source name if it has one)
    file: Path
    sha256: str  # of the file's bytes
    groups: tuple[str, ...]
    title: str
    text: str


@dataclass(frozen=True)
class Skipped:
    doc: str
    reason: str


def discover(config: KnowledgeConfig, root: Path) -> Iterator[tuple[str, Path, Path]]:
    """(document path, file, its source folder) for every file under the sources, sorted;
    `_access.yaml` and hidden files are the index's own and are not documents."""
    for source in config.sources:
        folder = Path(source.path) if Path(source.path).is_absolute() else root / source.path
        if not folder.is_dir():
            raise FileNotFoundError(f"knowledge.sources: {folder} is not a folder")
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            relative = file.relative_to(folder)
            if file.name == ACCESS_FILE or any(part.startswith(".") for part in relative.parts):
                continue
            doc = relative.as_posix()
            yield (f"{source.name}/{doc}" if source.name else doc), file, folder


class _Unreadable(ValueError):
    """Why a file cannot become a document."""


def _folder_groups(file: Path, source: Path, cache: dict[Path, list[str] | None]) -> list[str]:
    folder = file.parent
    while True:
        if folder not in cache:
            access = folder / ACCESS_FILE
            cache[folder] = None
            if access.is_file():
                try:
                    raw = yaml.safe_load(access.read_text(encoding="utf-8")) or {}
                except (yaml.YAMLError, UnicodeDecodeError) as err:
                    raise _Unreadable(
                        f"{access.name} in {folder.name}/ is not YAML: {err}"
                    ) from None
                if not isinstance(raw, dict) or not isinstance(raw.get("groups"), list):
                    raise _Unreadable(f"{access}: expected `groups: [..]`")
                cache[folder] = raw["groups"]
        if cache[folder] is not None:
            return list(cache[folder] or [])
        if folder == source or source not in folder.parents:
            return []
        folder = folder.parent


def _decode(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise _Unreadable("binary file (NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise _Unreadable(f"not UTF-8 text ({err.reason} at byte {err.start})") from None


def _front_matter(text: str) -> tuple[dict, str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as err:
        raise _Unreadable(f"front matter is not YAML: {str(err).splitlines()[0]}") from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise _Unreadable("front matter is not a YAML mapping")
    # blanked rather than cut, so spans in the text stay offsets into the file as written
    # (until masking replaces a value: a chunk's span is then one in the masked text)
    return meta, " " * match.end() + text[match.end() :]


def _html_text(data: bytes) -> tuple[str, str]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "html.parser")
    for tag in soup(["script", "style", "nav", "footer", "head"]):
        tag.decompose()
    lines: list[str] = []
    for element in soup.find_all(["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "td", "pre"]):
        text = " ".join(element.get_text(" ", strip=True).split())
        if not text or element.find_parent(["p", "li", "td"]):
            continue
        if element.name.startswith("h"):
            lines.append("#" * int(element.name[1]) + " " + text)
        else:
            lines.append(text)
    title = soup.title.get_text(strip=True) if soup.title else ""
    return "\n\n".join(lines), title


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as err:
        raise _Unreadable(f"unreadable PDF: {err}") from None
    # a page is a section: the heading trail of a chunk then names its page
    return "\n\n".join(f"# Page {n}\n\n{t.strip()}" for n, t in enumerate(pages, 1) if t.strip())


def _title(text: str, doc: str) -> str:
    heading = re.search(r"^#{1,6}\s+(.+)$", text, re.MULTILINE)
    return heading.group(1).strip() if heading else Path(doc).stem


def read_document(
    doc: str,
    file: Path,
    source: Path,
    config: KnowledgeConfig,
    access_cache: dict[Path, list[str] | None] | None = None,
) -> Document | Skipped:
    """The parsed document, or why it is skipped (too large, binary, unreadable, no groups)."""
    cache = access_cache if access_cache is not None else {}
    suffix = file.suffix.lower()
    try:
        if suffix not in SUFFIXES:
            raise _Unreadable(f"unsupported file type '{suffix or file.name}'; known: {SUFFIXES}")
        size_mb = file.stat().st_size / 1_000_000
        if size_mb > config.max_document_mb:
            raise _Unreadable(
                f"{size_mb:.1f} MB, over knowledge.max_document_mb ({config.max_document_mb:g})"
            )
        data = file.read_bytes()
        meta: dict = {}
        title = ""
        if suffix in TEXT_SUFFIXES:
            meta, text = _front_matter(_decode(data))
        elif suffix in HTML_SUFFIXES:
            text, title = _html_text(_decode(data).encode())
        else:
            text = _pdf_text(data)
        if not text.strip():
            raise _Unreadable("no text in the document (a scanned PDF needs OCR first)")
        groups = meta.get("groups")
        if groups is None:
            groups = _folder_groups(file, source, cache) or list(config.default_groups)
        if not isinstance(groups, list):
            raise _Unreadable("front matter `groups` must be a list, e.g. [hr, exec]")
        try:
            groups = check_groups(groups, "groups")
        except ValueError as err:
            raise _Unreadable(str(err)) from None
        if not groups:
            raise _Unreadable(
                "no access groups (front matter `groups:`, a folder's _access.yaml or "
                "knowledge.default_groups): not indexed, deny by default"
            )
        unknown = sorted(set(groups) - set(config.groups)) if config.groups else []
        if unknown:
            raise _Unreadable(f"unknown group(s) {unknown}; knowledge.groups: {config.groups}")
    except _Unreadable as why:
        return Skipped(doc, str(why))
    except OSError as err:
        return Skipped(doc, f"cannot read the file: {err.strerror or err}")
    title = str(meta.get("title") or title or _title(text, doc))
    digest = hashlib.sha256(data).hexdigest()
    return Document(doc, file, digest, tuple(sorted(groups)), title, text)

from __future__ import annotations

from pathlib import Path

import pytest

from tunesmith.config import KnowledgeConfig
from tunesmith.knowledge.documents import Document, Skipped, discover, read_document

CONFIG = KnowledgeConfig(sources=[{"path": "kb"}], groups=["staff", "hr", "exec"])


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF whose page shows `text` in Helvetica."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = "%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n"
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    return out.encode()


def _read(root: Path, name: str, config: KnowledgeConfig = CONFIG) -> Document | Skipped:
    found = {doc: (file, source) for doc, file, source in discover(config, root)}
    file, source = found[name]
    return read_document(name, file, source, config)


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    (tmp_path / "kb" / "team" / "deep").mkdir(parents=True)
    (tmp_path / "kb" / "team" / "_access.yaml").write_text("groups: [staff]\n")
    return tmp_path


def test_folder_groups_are_inherited_and_front_matter_overrides_them(kb: Path) -> None:
    (kb / "kb/team/deep/a.md").write_text("# A\n\ntext\n")
    (kb / "kb/team/b.md").write_text("---\ngroups: [hr, exec]\n---\n# B\n\nsecret\n")
    inherited, overridden = _read(kb, "team/deep/a.md"), _read(kb, "team/b.md")
    assert isinstance(inherited, Document) and inherited.groups == ("staff",)
    assert isinstance(overridden, Document) and overridden.groups == ("exec", "hr")


def test_front_matter_is_blanked_so_spans_are_file_offsets(kb: Path) -> None:
    raw = "---\ngroups: [hr]\ntitle: Leave\n---\n# Leave\n\n20 weeks\n"
    (kb / "kb/team/leave.md").write_text(raw)
    document = _read(kb, "team/leave.md")
    assert isinstance(document, Document)
    assert document.title == "Leave"
    at = document.text.index("20 weeks")
    assert raw[at : at + 8] == "20 weeks" and "groups" not in document.text


def test_no_groups_is_denied_by_default_unless_default_groups(kb: Path) -> None:
    (kb / "kb/loose.md").write_text("# Loose\n\nno groups\n")
    skipped = _read(kb, "loose.md")
    assert isinstance(skipped, Skipped) and "deny by default" in skipped.reason
    config = CONFIG.model_copy(update={"default_groups": ["staff"]})
    assert _read(kb, "loose.md", config).groups == ("staff",)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("blob.md", b"\x00\x01\x02binary", "binary file"),
        ("latin.txt", "caf\xe9".encode("latin-1"), "not UTF-8"),
        ("bad.md", b"---\ngroups: [hr\n---\n# x\n", "front matter is not YAML"),
        ("who.md", b"---\ngroups: [payroll]\n---\n# x\n\ny\n", "unknown group(s) ['payroll']"),
        ("broken.pdf", b"%PDF-1.4 this is no pdf", "unreadable PDF"),
        ("image.png", b"\x89PNG\r\n", "unsupported file type '.png'"),
        ("empty.md", b"---\ngroups: [hr]\n---\n   \n", "no text"),
    ],
)
def test_bad_files_are_skipped_with_their_reason(
    kb: Path, name: str, content: bytes, reason: str
) -> None:
    (kb / "kb/team" / name).write_bytes(content)
    skipped = _read(kb, f"team/{name}")
    assert isinstance(skipped, Skipped)
    assert reason in skipped.reason


def test_a_document_over_the_size_limit_is_skipped(kb: Path) -> None:
    (kb / "kb/team/big.txt").write_text("word " * 50_000)
    config = CONFIG.model_copy(update={"max_document_mb": 0.1})
    skipped = _read(kb, "team/big.txt", config)
    assert isinstance(skipped, Skipped) and "over knowledge.max_document_mb" in skipped.reason


def test_pdf_and_html_become_text_with_headings(kb: Path) -> None:
    (kb / "kb/team/warranty.pdf").write_bytes(minimal_pdf("Warranty lasts 24 months."))
    (kb / "kb/team/ship.html").write_text(
        "<html><head><title>Shipping</title><style>x{}</style></head><body>"
        "<h1>Shipping</h1><h2>Times</h2><p>Orders ship in <b>2 days</b>.</p>"
        "<script>var leaked = 1;</script></body></html>"
    )
    pdf, html = _read(kb, "team/warranty.pdf"), _read(kb, "team/ship.html")
    assert isinstance(pdf, Document) and "Warranty lasts 24 months." in pdf.text
    assert pdf.text.startswith("# Page 1")
    assert isinstance(html, Document) and html.title == "Shipping"
    assert "# Shipping" in html.text and "## Times" in html.text
    assert "Orders ship in 2 days ." in html.text and "leaked" not in html.text


def test_access_files_and_hidden_files_are_not_documents(kb: Path) -> None:
    (kb / "kb/team/.draft.md").write_text("# draft")
    (kb / "kb/team/a.md").write_text("# a\n\nb\n")
    assert [doc for doc, _, _ in discover(CONFIG, kb)] == ["team/a.md"]


def test_a_missing_source_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="kb is not a folder"):
        list(discover(CONFIG, tmp_path))

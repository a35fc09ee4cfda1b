from __future__ import annotations

import pytest

from tunesmith.config import PII_ENTITIES, PiiConfig
from tunesmith.data.pii import PiiKeyError, PiiMasker
from tunesmith.data.scan import scan_file

TICKET = {
    "subject": "Refund for order #48392012",
    "body": (
        "Hi, my name is Maria Garcia and my email is maria.g+shop@example.com. Call me on "
        "+44 20 7946 0958 or 415-555-0198. My card 4539 1488 0343 6467 was charged $1,249.99 "
        "twice on 2026-03-02. IBAN DE89 3704 0044 0532 0130 00, SSN 231-45-6789, my IP is "
        "203.0.113.42. My date of birth is 14/03/1985. Account ACC-482913. Running v4.12.3, "
        "build 10.0.19045, order number 5512093381, SKU-88-1932-XL, error ERR_0x80070005. "
        "Ship to 27 Larkspur Road, Harrogate, HG1 2AB. NI number AB 12 34 56 C, passport "
        "number 567123498."
    ),
    "agent_reply": "Hi Maria,\nThe billing team refunded €89.00.\nBest regards, Łukasz",
}
SECRETS = [
    "Maria",
    "Garcia",
    "maria.g+shop@example.com",
    "7946 0958",
    "415-555-0198",
    "4539 1488 0343 6467",
    "DE89 3704",
    "231-45-6789",
    "203.0.113.42",
    "14/03/1985",
    "ACC-482913",
    "Łukasz",
    "27 Larkspur Road",
    "HG1 2AB",
    "AB 12 34 56 C",
    "567123498",
]
LOOKALIKES = [
    "48392012",
    "$1,249.99",
    "2026-03-02",
    "v4.12.3",
    "10.0.19045",
    "5512093381",
    "SKU-88-1932-XL",
    "ERR_0x80070005",
    "€89.00",
]


def test_every_type_is_masked_and_lookalikes_survive(masker: PiiMasker) -> None:
    masked, counts = masker.mask(TICKET)
    text = "\n".join(masked.values())
    for secret in SECRETS:
        assert secret not in text, secret
    for keep in LOOKALIKES:
        assert keep in text, keep
    assert set(counts) == {*PII_ENTITIES, "ACCOUNT_ID"}


def test_placeholders_are_numbered_consistently_within_a_record(masker: PiiMasker) -> None:
    masked, _ = masker.mask(
        {
            "body": "I'm Maria Garcia. Tomás Ruiz said Maria should call.",
            "reply": "Hi Maria, thanks. Regards, Tomás",
        }
    )
    assert masked["body"] == "I'm <PERSON_1>. <PERSON_2> said <PERSON_1> should call."
    assert masked["reply"] == "Hi <PERSON_1>, thanks. Regards, <PERSON_2>"


def test_everyday_words_and_companies_are_not_people(masker: PiiMasker) -> None:
    text = "Will this be fixed? May I ask. Regards, the Support Team at Tidewater Marine."
    masked, counts = masker.mask({"body": text})
    assert masked["body"] == text
    assert counts["PERSON"] == 0


def test_name_columns_are_people_as_a_whole(masker: PiiMasker) -> None:
    masked, _ = masker.mask({"customer_name": "Takeshi Al-Sayed", "region": "EU"})
    assert masked == {"customer_name": "<PERSON_1>", "region": "EU"}


def test_pseudonyms_are_consistent_across_records_and_keyed() -> None:
    one = PiiMasker(PiiConfig(mode="pseudonym"), key=b"secret-1")
    first, _ = one.mask({"body": "My name is Maria Garcia, email maria@example.com"})
    second, _ = one.mask({"body": "Maria Garcia again, maria@example.com"})
    fake_name = first["body"].removeprefix("My name is ").split(",")[0]
    assert "Maria" not in first["body"] and "maria@example.com" not in first["body"]
    assert second["body"].startswith(fake_name)
    other, _ = PiiMasker(PiiConfig(mode="pseudonym"), key=b"secret-2").mask(
        {"body": "My name is Maria Garcia, email maria@example.com"}
    )
    assert other["body"] != first["body"]


def test_pseudonym_mode_without_key_fails_before_work() -> None:
    with pytest.raises(PiiKeyError, match="TUNESMITH_PII_KEY"):
        PiiMasker(PiiConfig(mode="pseudonym"), key=None)


def test_redact_removes_values() -> None:
    masked, _ = PiiMasker(PiiConfig(mode="redact")).mask({"body": "Mail me: bob@example.org."})
    assert masked["body"] == "Mail me: ."


def test_skip_fields_are_left_alone() -> None:
    masker = PiiMasker(PiiConfig(skip_fields=["queue"]))
    masked, _ = masker.mask({"queue": "Maria Garcia", "body": "Maria Garcia"})
    assert masked == {"queue": "Maria Garcia", "body": "<PERSON_1>"}


def test_scan_reports_findings_without_writing(tmp_path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "id,body\n1,Please email maria.g@example.com about the invoice today\n"
        "2,Please email maria.g@example.com about the invoice today\n3,hi\n"
    )
    before = sorted(p.name for p in tmp_path.iterdir())
    result = scan_file(path)
    assert (result.rows, result.clean) == (3, 1)
    assert result.duplicates["exact"] == 1
    assert result.pii["EMAIL_ADDRESS"] == 1
    assert sum(result.quarantined.values()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("Hi, I'm Maria Al-Sayed from accounts.", "Hi, I'm <PERSON_1> from accounts."),
        ("Thanks, Grace Hopper", "Thanks, <PERSON_1>"),
        ("Regards, Will do", "Regards, Will do"),
        ("My number is 07911123456", "My number is <PHONE_NUMBER_1>"),
        ("order number 5512093381 please", "order number 5512093381 please"),
        ("Running firmware 1.0.0.12 and version 10.2.3.4", None),
        ("Date of birth 3 March 1985", "Date of birth <DATE_OF_BIRTH_1>"),
    ],
)
def test_review_cases(masker: PiiMasker, text: str, masked: str | None) -> None:
    assert masker.mask({"body": text})[0]["body"] == (masked or text)


def test_only_person_name_columns_are_masked_whole(masker: PiiMasker) -> None:
    fields = {"product_name": "Widget Pro", "hostname": "Web Prod", "customer_name": "Bob Stone"}
    masked, _ = masker.mask(fields)
    assert masked == {**fields, "customer_name": "<PERSON_1>"}

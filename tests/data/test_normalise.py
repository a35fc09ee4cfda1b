from __future__ import annotations

from tunesmith.data.normalise import match_key, normalise_text


def test_mojibake_is_repaired() -> None:
    original = "José paid €89 for the ‘Pro’ plan"
    broken = original.encode("utf-8").decode("cp1252")
    assert broken != original
    assert normalise_text(broken) == original


def test_control_characters_and_space_runs_are_cleaned() -> None:
    assert normalise_text("  a\x00b\u200b  c\t\td \r\n\r\n\r\n\r\nend ") == "ab c d\n\nend"


def test_folded_key_equates_cosmetic_variants() -> None:
    plain = 'Order "1234" can\'t ship'
    variants = [
        "Ｏｒｄｅｒ \u201c1234\u201d can\u2019t ship",
        'order\u00a0 "1234"   CAN\'T ship',
    ]
    assert all(match_key(v) == match_key(plain) for v in variants)
    assert match_key("Order 1235 can't ship") != match_key(plain)

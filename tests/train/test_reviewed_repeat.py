from tunesmith.train.dataset import upsample_reviewed


def test_reviewed_records_are_repeated_and_others_are_not() -> None:
    plain = {"messages": [], "meta": {"id": "a", "source": "raw/tickets.csv", "row": 1}}
    reviewed = {"messages": [], "meta": {"id": "fb-1", "interaction_id": "chatcmpl-1"}}
    out = upsample_reviewed([plain, reviewed], 3)
    assert out.count(plain) == 1 and out.count(reviewed) == 3
    assert upsample_reviewed([plain, reviewed], 1) == [plain, reviewed]

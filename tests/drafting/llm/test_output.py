import json

from drafting.llm.output import ReplyTextStream, parse_reply

ALLOWED = frozenset({"fact:stripe:plan", "kb:faq#billing"})


def answer(**fields: object) -> str:
    return json.dumps({"reply": "Hi", "cited_source_ids": ["fact:stripe:plan"], "confidence": 0.9, **fields})


def test_valid_answer_is_accepted():
    parsed = parse_reply(answer(), ALLOWED)

    assert (parsed.text, parsed.cited_source_ids, parsed.confidence, parsed.error) == (
        "Hi",
        ("fact:stripe:plan",),
        0.9,
        None,
    )


def test_answer_inside_a_markdown_fence_is_accepted():
    parsed = parse_reply(f"```json\n{answer()}\n```", ALLOWED)

    assert parsed.error is None


def test_duplicate_citations_are_kept_once():
    parsed = parse_reply(answer(cited_source_ids=["fact:stripe:plan", "fact:stripe:plan"]), ALLOWED)

    assert parsed.cited_source_ids == ("fact:stripe:plan",)


def test_each_schema_violation_is_named():
    cases = {
        answer(reply=""): '"reply" must be a non-empty string',
        answer(reply=["Hi"]): '"reply" must be a non-empty string',
        answer(cited_source_ids="fact:stripe:plan"): '"cited_source_ids" must be a list of strings',
        answer(cited_source_ids=[1]): '"cited_source_ids" must be a list of strings',
        answer(confidence="high"): '"confidence" must be a number',
        answer(confidence=True): '"confidence" must be a number',
        answer(confidence=-0.1): '"confidence" must be between 0 and 1',
        json.dumps(["Hi"]): "not a JSON object",
        "": "empty response",
    }
    for raw, error in cases.items():
        parsed = parse_reply(raw, ALLOWED)
        assert parsed.error == error, raw
        assert parsed.confidence == 0.0


def test_missing_confidence_is_a_violation():
    parsed = parse_reply(json.dumps({"reply": "Hi", "cited_source_ids": []}), ALLOWED)

    assert parsed.error == '"confidence" must be a number'


def test_none_content_is_an_empty_response():
    assert parse_reply(None, ALLOWED).error == "empty response"


def test_reply_text_stream_decodes_only_the_reply_field():
    stream = ReplyTextStream()
    raw = json.dumps(
        {"cited_source_ids": ["a"], "reply": 'Tab\there "quoted" \\u escaped', "confidence": 0.5}
    )

    text = "".join(stream.feed(raw[index : index + 3]) for index in range(0, len(raw), 3))

    assert text == 'Tab\there "quoted" \\u escaped'
    assert stream.raw == raw


def test_reply_text_stream_joins_surrogate_pairs_split_across_deltas():
    stream = ReplyTextStream()
    raw = '{"reply": "ok \\ud83d\\udc4d", "confidence": 1}'

    text = "".join(stream.feed(char) for char in raw)

    assert text == "ok 👍"


def test_reply_text_stream_finds_a_key_split_across_deltas():
    stream = ReplyTextStream()

    parts = [stream.feed(piece) for piece in ['{"rep', 'ly"', ' :  "', "Hel", 'lo"}']]

    assert "".join(parts) == "Hello"

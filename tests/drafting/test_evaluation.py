import json
import math

import pytest

from drafting.evaluation import (
    JsonlError,
    LabelledTicket,
    evaluate,
    load_jsonl,
    main,
    precision_at_coverage,
)

INTENTS = {
    "card_arrival": [
        "where is my new card",
        "my card has not arrived yet",
        "when will my card come",
        "card still not delivered",
        "how long does card delivery take",
    ],
    "pin_reset": [
        "i forgot my pin",
        "how do i reset my pin",
        "change my pin number",
        "pin is blocked",
        "unlock my pin please",
    ],
    "top_up": [
        "how do i top up",
        "add money to my account",
        "top up failed",
        "my top up did not work",
        "can i top up by card",
    ],
}


def _tickets(copies: int) -> list[LabelledTicket]:
    return [
        LabelledTicket(f"{text} {suffix}", intent)
        for intent, texts in INTENTS.items()
        for text in texts
        for suffix in ["", "please", "today", "thanks", "urgent", "asap", "now", "hi"][:copies]
    ]


def test_report_has_exactly_the_design_shape():
    test = [*_tickets(2), LabelledTicket("what is the capital of peru", None)]
    report = evaluate(_tickets(8), test)
    assert set(report) == {"n", "intent_accuracy", "ece", "auto_resolve"}
    assert set(report["auto_resolve"]) == {
        "threshold",
        "precision",
        "precision_lower_95",
        "coverage",
        "oos_auto_resolved",
    }
    assert report["n"] == len(test)
    assert 0.0 <= report["intent_accuracy"] <= 1.0
    assert 0.0 <= report["auto_resolve"]["oos_auto_resolved"] <= 1.0
    json.dumps(report)


def test_loader_reads_null_and_oos_as_out_of_scope(tmp_path):
    path = tmp_path / "t.jsonl"
    lines = [{"text": "a", "intent": "x"}, {"text": "b", "intent": None}, {"text": "c", "intent": "oos"}]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n")
    assert load_jsonl(path) == [
        LabelledTicket("a", "x"),
        LabelledTicket("b", None),
        LabelledTicket("c", None),
    ]


@pytest.mark.parametrize(
    "bad_line", ['{"text": "b", "intent": ', '["b", "x"]', '{"intent": "x"}', '{"text": "b", "intent": 3}']
)
def test_bad_jsonl_line_is_named_by_its_number(tmp_path, bad_line):
    path = tmp_path / "t.jsonl"
    path.write_text('{"text": "a", "intent": "x"}\n' + bad_line + "\n")
    with pytest.raises(JsonlError, match="line 2") as error:
        load_jsonl(path)
    assert error.value.line == 2


def test_cli_reports_a_bad_file_without_a_traceback(tmp_path, capsys):
    good, bad = tmp_path / "good.jsonl", tmp_path / "bad.jsonl"
    good.write_text('{"text": "a", "intent": "x"}\n')
    bad.write_text("not json\n")
    assert main(["--train", str(good), "--test", str(bad)]) == 2
    assert "line 1" in capsys.readouterr().err


def test_cli_runs_the_light_model_when_embeddings_are_off(tmp_path, capsys):
    train, test = tmp_path / "train.jsonl", tmp_path / "test.jsonl"
    train.write_text("".join(json.dumps({"text": t.text, "intent": t.intent}) + "\n" for t in _tickets(8)))
    test.write_text("".join(json.dumps({"text": t.text, "intent": t.intent}) + "\n" for t in _tickets(2)))
    assert main(["--train", str(train), "--test", str(test), "--embeddings", "off"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == len(_tickets(2))
    assert report["intent_accuracy"] >= 0.9


def test_more_out_of_scope_test_tickets_leave_in_scope_coverage_unchanged():
    in_scope = _tickets(2)
    unrelated = ["what is the capital of peru", "play some jazz", "how tall is everest"]
    few = evaluate(_tickets(8), [*in_scope, LabelledTicket(unrelated[0], None)])
    many = evaluate(_tickets(8), [*in_scope, *(LabelledTicket(t, None) for t in unrelated * 10)])
    assert few["auto_resolve"]["coverage"] == many["auto_resolve"]["coverage"]
    assert few["intent_accuracy"] == many["intent_accuracy"]


def test_precision_at_coverage_takes_the_highest_threshold_reaching_the_share():
    confidences = [0.9, 0.8, 0.8, 0.7, math.nan]
    correct = [True, False, True, True, True]
    in_scope = [True, True, True, True, True]
    assert precision_at_coverage(confidences, correct, in_scope, 0.2) == 1.0
    # The tie at 0.8 comes in whole: three tickets, one wrong.
    assert precision_at_coverage(confidences, correct, in_scope, 0.4) == round(2 / 3, 4)
    assert precision_at_coverage(confidences, correct, in_scope, 0.8) == 0.75
    # The fifth ticket was judged out of scope (no confidence): full coverage is out of reach.
    assert precision_at_coverage(confidences, correct, in_scope, 1.0) is None


def test_out_of_scope_tickets_count_against_precision_but_not_towards_coverage():
    confidences = [0.9, 0.85, 0.6]
    correct = [True, False, True]
    in_scope = [True, False, True]
    assert precision_at_coverage(confidences, correct, in_scope, 0.5) == 1.0
    assert precision_at_coverage(confidences, correct, in_scope, 1.0) == round(2 / 3, 4)


def test_cli_adds_precision_at_coverage_only_when_asked(tmp_path, capsys):
    train, test = tmp_path / "train.jsonl", tmp_path / "test.jsonl"
    train.write_text("".join(json.dumps({"text": t.text, "intent": t.intent}) + "\n" for t in _tickets(8)))
    test.write_text("".join(json.dumps({"text": t.text, "intent": t.intent}) + "\n" for t in _tickets(2)))
    argv = ["--train", str(train), "--test", str(test), "--embeddings", "off"]
    assert main([*argv, "--at-coverage", "0.5", "--at-coverage", "0.9"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["precision_at_coverage"]) == {"0.5", "0.9"}
    assert main(argv) == 0
    assert "precision_at_coverage" not in json.loads(capsys.readouterr().out)
    with pytest.raises(SystemExit):
        main([*argv, "--at-coverage", "1.5"])

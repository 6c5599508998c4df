import json

from typer.testing import CliRunner

from plugin.cli import app
from tests.drafting.test_evaluation import _tickets


def _write(path, tickets):
    path.write_text("".join(json.dumps({"text": t.text, "intent": t.intent}) + "\n" for t in tickets))
    return str(path)


def test_outcomedesk_eval_prints_the_report_and_the_asked_coverage_points(tmp_path):
    train, test = _write(tmp_path / "train.jsonl", _tickets(8)), _write(tmp_path / "test.jsonl", _tickets(2))
    result = CliRunner().invoke(
        app, ["eval", "--train", train, "--test", test, "--at-coverage", "0.9", "--target-precision", "0.9"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["n"] == len(_tickets(2))
    assert set(report["precision_at_coverage"]) == {"0.9"}


def test_outcomedesk_eval_refuses_a_coverage_outside_zero_to_one(tmp_path):
    train, test = _write(tmp_path / "train.jsonl", _tickets(8)), _write(tmp_path / "test.jsonl", _tickets(2))
    result = CliRunner().invoke(app, ["eval", "--train", train, "--test", test, "--at-coverage", "1.5"])
    assert result.exit_code == 2

"""Offline evaluation of intent detection and auto-resolution on labelled tickets (DESIGN §7).

Where the threshold comes from: only the training set. ``IntentClassifier.fit`` scores every training
ticket with a model that did not see it (k-fold, out of fold); those scores and whether auto-resolving
would have been right are the "history" the threshold is chosen from, exactly as a tenant's threshold
is chosen from its own past outcomes. The test labels are used for nothing but the reported numbers.

Definitions in the report:
- ``intent_accuracy``: share of in-scope test tickets whose best in-scope intent is the true one
  (out-of-scope tickets have no intent to get right; the out-of-scope detector is judged separately).
- ``ece``: expected calibration error of the confidence against "the predicted intent is the true one",
  over all test tickets (an out-of-scope ticket is never right), i.e. of the number auto-resolution uses.
- ``auto_resolve.precision``: share of auto-resolved test tickets whose predicted intent is the true one;
  ``precision_lower_95`` its one-sided 95% Clopper-Pearson lower bound.
- ``auto_resolve.coverage``: share of in-scope test tickets that were auto-resolved, so that a test set
  with more out-of-scope tickets does not look like a drop in automation of the tickets we can handle.
- ``auto_resolve.oos_auto_resolved``: share of out-of-scope test tickets auto-resolved (0 when none).

Asked with ``--at-coverage C`` (repeatable), the report also gives ``precision_at_coverage``: for each C the
precision had the threshold been the highest one auto-resolving at least that share of in-scope test
tickets (null when the out-of-scope gate leaves fewer). It describes how well confidence ranks tickets,
independently of the target; the threshold above is the operating point.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from drafting.calibration import (
    ThresholdChoice,
    choose_threshold,
    clopper_pearson_lower,
    expected_calibration_error,
)
from drafting.intent import Embedder, IntentClassifier, is_out_of_scope_label


@dataclass(frozen=True)
class LabelledTicket:
    text: str
    intent: str | None
    """None means out of scope."""


class JsonlError(ValueError):
    def __init__(self, path: str, line: int, detail: str) -> None:
        super().__init__(f"{path}, line {line}: {detail}")
        self.path = path
        self.line = line


def load_jsonl(path: str | Path) -> list[LabelledTicket]:
    """Read ``{"text": ..., "intent": ...}`` lines; intent null or "oos" means out of scope."""
    tickets: list[LabelledTicket] = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise JsonlError(str(path), number, f"not valid JSON ({error.msg})") from None
            if not isinstance(row, dict):
                raise JsonlError(str(path), number, "expected a JSON object")
            text, intent = row.get("text"), row.get("intent")
            if not isinstance(text, str) or not text.strip():
                raise JsonlError(str(path), number, '"text" must be a non-empty string')
            if intent is not None and not isinstance(intent, str):
                raise JsonlError(str(path), number, '"intent" must be a string or null')
            tickets.append(LabelledTicket(text, None if is_out_of_scope_label(intent) else intent))
    return tickets


def fit_with_threshold(
    texts: Sequence[str],
    intents: Sequence[str | None],
    *,
    target_precision: float,
    embedder: Embedder | Literal["auto"] | None = "auto",
) -> tuple[IntentClassifier, ThresholdChoice]:
    """Fit a classifier and pick the autopilot threshold from its out-of-fold predictions on the same data."""
    model = IntentClassifier(embedder=embedder).fit(texts, intents)
    history = model.oof_predictions_
    # A ticket judged out of scope is never auto-resolved, whatever the threshold: NaN keeps it out of
    # every candidate cut while it still counts in the history's size.
    choice = choose_threshold(
        [math.nan if p.out_of_scope else p.confidence for p in history],
        [p.intent == truth for p, truth in zip(history, intents, strict=True)],
        target_precision=target_precision,
        out_of_scope=[is_out_of_scope_label(truth) for truth in intents],
    )
    return model, choice


def evaluate(
    train: Sequence[LabelledTicket],
    test: Sequence[LabelledTicket],
    *,
    target_precision: float = 0.95,
    embedder: Embedder | Literal["auto"] | None = "auto",
    at_coverage: Sequence[float] = (),
) -> dict[str, Any]:
    """Train on ``train``, pick the threshold from its out-of-fold scores, report on ``test``.

    ``embedder`` "auto" uses the MiniLM encoder when its package is installed; None forces the light model.
    """
    if not test:
        raise ValueError("the test set is empty")
    model, choice = fit_with_threshold(
        [t.text for t in train],
        [t.intent for t in train],
        target_precision=target_precision,
        embedder=embedder,
    )

    predictions = model.predict([t.text for t in test])
    correct = [p.intent == t.intent for p, t in zip(predictions, test, strict=True)]
    in_scope = [t.intent is not None for t in test]
    resolved = [not p.out_of_scope and p.confidence >= choice.threshold for p in predictions]

    n_in_scope = sum(in_scope)
    n_oos = len(test) - n_in_scope
    n_resolved = sum(resolved)
    n_resolved_right = sum(r and c for r, c in zip(resolved, correct, strict=True))
    report: dict[str, Any] = {
        "n": len(test),
        "intent_accuracy": _ratio(sum(c for c, s in zip(correct, in_scope, strict=True) if s), n_in_scope),
        "ece": round(expected_calibration_error([p.confidence for p in predictions], correct), 4),
        "auto_resolve": {
            "threshold": round(choice.threshold, 6),
            "precision": _ratio(n_resolved_right, n_resolved),
            "precision_lower_95": round(clopper_pearson_lower(n_resolved_right, n_resolved), 4),
            "coverage": _ratio(sum(r for r, s in zip(resolved, in_scope, strict=True) if s), n_in_scope),
            "oos_auto_resolved": _ratio(
                sum(r for r, s in zip(resolved, in_scope, strict=True) if not s), n_oos
            ),
        },
    }
    if at_coverage:
        confidences = [math.nan if p.out_of_scope else p.confidence for p in predictions]
        report["precision_at_coverage"] = {
            str(share): precision_at_coverage(confidences, correct, in_scope, share) for share in at_coverage
        }
    return report


def precision_at_coverage(
    confidences: Sequence[float], correct: Sequence[bool], in_scope: Sequence[bool], share: float
) -> float | None:
    """Precision of the highest threshold auto-resolving at least ``share`` of the in-scope tickets (NaN
    confidence: never auto-resolved); None when no threshold reaches that share."""
    if not 0.0 < share <= 1.0:
        raise ValueError("a coverage share must be in (0, 1]")
    needed = math.ceil(share * sum(in_scope) - 1e-9)
    ranked = sorted(
        (c, hit, scope)
        for c, hit, scope in zip(confidences, correct, in_scope, strict=True)
        if not math.isnan(c)
    )[::-1]
    covered = resolved = right = 0
    for index, (confidence, hit, scope) in enumerate(ranked):
        covered, resolved, right = covered + scope, resolved + 1, right + hit
        # ">= threshold" takes every ticket tied with the last one.
        tied_with_next = index + 1 < len(ranked) and ranked[index + 1][0] == confidence
        if covered >= needed and not tied_with_next:
            return _ratio(right, resolved)
    return None


def _ratio(numerator: int, denominator: int) -> float:
    return round(numerator / denominator, 4) if denominator else 0.0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m drafting.evaluation", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--train", required=True)
    parser.add_argument("--test", required=True)
    parser.add_argument("--target-precision", type=float, default=0.95)
    parser.add_argument(
        "--embeddings",
        choices=("auto", "off"),
        default="auto",
        help="auto: add MiniLM sentence embeddings when the model package is installed; off: light model",
    )
    parser.add_argument(
        "--at-coverage",
        type=float,
        action="append",
        default=[],
        metavar="C",
        help="also report the precision at this share of in-scope tickets auto-resolved (repeatable)",
    )
    args = parser.parse_args(argv)
    try:
        train, test = load_jsonl(args.train), load_jsonl(args.test)
    except (OSError, JsonlError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    embedder: Literal["auto"] | None = "auto" if args.embeddings == "auto" else None
    if any(not 0.0 < share <= 1.0 for share in args.at_coverage):
        parser.error("--at-coverage takes a share in (0, 1]")
    report = evaluate(
        train, test, target_precision=args.target_precision, embedder=embedder, at_coverage=args.at_coverage
    )
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from drafting.composition import compose_draft
from drafting.context.base import CustomerRef, Fact
from drafting.context.gather import ContextCache
from tests.drafting.builders import kit, trained_classifier

ADA = CustomerRef(email="ada@example.com")
TEXT = "My new card still has not arrived, when will it come?"


class WatchedClassifier:
    """The trained classifier, noting when and on which thread a prediction starts."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.thread_ids: list[int] = []

    def predict(self, texts):
        self.thread_ids.append(threading.get_ident())
        self.started.set()
        return trained_classifier().predict(texts)


class WaitsForPrediction:
    """A source that answers only once the prediction has started: it deadlocks if predicting waits for it."""

    name = "billing"

    def __init__(self, classifier: WatchedClassifier) -> None:
        self._classifier = classifier

    async def fetch(self, customer: CustomerRef) -> tuple[Fact, ...]:
        while not self._classifier.started.is_set():
            await asyncio.sleep(0.005)
        return (Fact("plan", "Pro", self.name, "Plan"),)


class BrokenClassifier:
    def __init__(self) -> None:
        self.calls = 0

    def predict(self, texts):
        self.calls += 1
        raise RuntimeError("model file is corrupt")


def test_intent_is_predicted_off_the_event_loop_while_the_sources_answer():
    classifier = WatchedClassifier()
    base = kit()
    drafting_kit = replace(
        base, sources=[*base.sources, WaitsForPrediction(classifier)], classifier=classifier, timeout_s=5.0
    )

    async def compose():
        return await compose_draft(text=TEXT, customer=ADA, kit=drafting_kit), threading.get_ident()

    composed, loop_thread = asyncio.run(compose())

    assert not composed.context.partial
    assert composed.context.value("plan") == "Pro"
    assert classifier.thread_ids and loop_thread not in classifier.thread_ids
    assert composed.prediction is not None and composed.prediction.intent == "card_arrival"
    assert composed.written.text


def test_intent_is_predicted_on_the_kits_classifier_pool():
    classifier = WatchedClassifier()
    names: list[str] = []
    original = classifier.predict

    def predict(texts):
        names.append(threading.current_thread().name)
        return original(texts)

    classifier.predict = predict
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tenant-intents") as pool:
        drafting_kit = replace(kit(), classifier=classifier, classifier_pool=pool)
        asyncio.run(compose_draft(text=TEXT, customer=ADA, kit=drafting_kit))

    assert len(names) == 1 and names[0].startswith("tenant-intents")


def test_failing_classifier_fails_the_draft():
    drafting_kit = replace(kit(), classifier=BrokenClassifier())

    with pytest.raises(RuntimeError, match="corrupt"):
        asyncio.run(compose_draft(text=TEXT, customer=ADA, kit=drafting_kit))


def test_failed_gathering_leaves_no_prediction_pending():
    # A shared cache without a tenant is refused before any source is asked.
    drafting_kit = replace(kit(), classifier=BrokenClassifier(), cache=ContextCache())

    async def compose_then_list_tasks():
        with pytest.raises(ValueError, match="tenant_id"):
            await compose_draft(text=TEXT, customer=ADA, kit=drafting_kit)
        return asyncio.all_tasks() - {asyncio.current_task()}

    assert asyncio.run(compose_then_list_tasks()) == set()

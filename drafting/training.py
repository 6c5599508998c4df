"""Teaching a tenant's drafter: its knowledge base and its intent classifier with an autopilot threshold."""

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from sqlalchemy.orm import Session

from drafting import repository
from drafting.calibration import ThresholdChoice
from drafting.evaluation import fit_with_threshold
from drafting.intent import IntentClassifier
from drafting.knowledge import KnowledgeBase, Passage
from drafting.models import IntentModel
from drafting.service import tenant_settings
from plugin.core.clock import Clock

log = logging.getLogger("outcomedesk.drafting")


@dataclass(frozen=True)
class TrainedModel:
    version: int
    examples: int
    intents: int
    threshold: ThresholdChoice


def train_intent_model(
    session: Session, *, tenant_id: int, examples: Sequence[tuple[str, str | None]], clock: Clock
) -> TrainedModel:
    """Train and store a new classifier version and set the tenant's threshold from it."""
    settings = tenant_settings(session, tenant_id=tenant_id, clock=clock)
    texts = [text for text, _ in examples]
    intents = [intent for _, intent in examples]
    model, choice = fit_with_threshold(texts, intents, target_precision=settings.target_precision)
    version = repository.latest_model_version(session, tenant_id) + 1
    repository.save(
        session,
        IntentModel(
            tenant_id=tenant_id,
            version=version,
            model=model.to_bytes(),
            evaluation=json.dumps(asdict(choice)),
            created_at=clock.now(),
        ),
    )
    settings.threshold = choice.threshold
    settings.updated_at = clock.now()
    session.flush()
    return TrainedModel(version, len(examples), len(model.intents_), choice)


def load_classifier(session: Session, *, tenant_id: int) -> tuple[int, IntentClassifier] | None:
    """The tenant's newest classifier and its version, or None before the first training."""
    row = repository.latest_model(session, tenant_id)
    if row is None:
        return None
    try:
        return row.version, IntentClassifier.from_bytes(row.model)
    except ValueError:
        # A model stored by an older format cannot be read: draft without autopilot until it is retrained.
        log.warning("intent model v%s of tenant %s is in an old format; retrain it", row.version, tenant_id)
        return None


def import_knowledge(session: Session, *, tenant_id: int, passages: Iterable[Passage], clock: Clock) -> int:
    """Add passages to the tenant's knowledge base; a passage already there (same doc and section) is kept."""
    now = clock.now()
    rows: list[dict[str, object]] = [
        {
            "tenant_id": tenant_id,
            "doc_id": passage.doc_id[:200],
            "section": passage.section[:300],
            "title": passage.title[:500],
            "text": passage.text,
            "audience": passage.audience,
            "created_at": now,
        }
        for passage in passages
    ]
    inserted = 0
    for start in range(0, len(rows), 500):
        inserted += repository.insert_passages(session, rows[start : start + 500])
    return inserted


def load_knowledge(session: Session, *, tenant_id: int) -> KnowledgeBase:
    """The tenant's knowledge base as a searchable index."""
    return KnowledgeBase(
        Passage(doc_id=row.doc_id, section=row.section, title=row.title, text=row.text, audience=row.audience)
        for row in repository.passages(session, tenant_id)
    )


def knowledge_version(session: Session, *, tenant_id: int) -> tuple[int, int]:
    """Changes whenever the tenant's knowledge base does (for caches)."""
    return repository.knowledge_version(session, tenant_id)


def latest_model_version(session: Session, *, tenant_id: int) -> int:
    """0 before the first training."""
    return repository.latest_model_version(session, tenant_id)

from datetime import UTC, datetime, timedelta

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from metrics.facts_query import ticket_facts
from metrics.facts_table import stored_ticket_facts
from metrics.repository import insert_events
from metrics.service import event_rows
from plugin.core.db import make_engine
from plugin.migrate import alembic_config, upgrade
from plugin.models import load_all_models
from tests.metrics.builders import ticket
from tests.metrics.test_facts_table import assert_same_facts


def test_upgrade_heads_on_an_empty_database_creates_every_table(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    upgrade(url)
    engine = make_engine(url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert set(load_all_models().metadata.tables) <= tables


def test_models_and_migrations_do_not_differ(engine):
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), load_all_models().metadata)
    assert differences == []


def test_migration_files_follow_the_naming_rule():
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    for revision in script.walk_revisions():
        name = revision.path.rsplit("/", 1)[-1]
        assert name[:8].isdigit() and name[8] == "_", name


def test_the_ticket_facts_migration_backfills_the_facts_of_logged_events(tmp_path):
    url = f"sqlite:///{tmp_path / 'before_facts.db'}"
    command.upgrade(alembic_config(url), "20261204_metrics_experiments")
    created = datetime(2026, 3, 2, 9, 0, 0, 123_456, tzinfo=UTC)
    events = [
        *ticket("T1", created=created, reply_after=timedelta(minutes=3), solved_after=timedelta(hours=1)),
        *ticket("T2", created=created, csat=0.0, reopened_after=timedelta(hours=2), handle_seconds=60.0),
    ]
    engine = make_engine(url)
    with Session(engine) as session:
        insert_events(session, event_rows(1, events, recorded_at=created))
        session.commit()
    upgrade(url)
    with Session(engine) as session:
        stored = stored_ticket_facts(session, tenant_id=1)
        assert len(stored) == 2
        assert_same_facts(stored, ticket_facts(session, tenant_id=1))
    engine.dispose()

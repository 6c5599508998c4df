from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from plugin.core.db import make_engine
from plugin.migrate import alembic_config, upgrade
from plugin.models import load_all_models


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

"""Credentials are sealed at rest: the database alone does not reveal them, keys rotate, old rows reseal."""

import json
import os
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Text, text, type_coerce, update
from sqlalchemy.orm import Session

from drafting import connectors
from plugin.accounts.models import Tenant
from plugin.core.clock import FixedClock
from plugin.core.db import Base
from plugin.core.sealing import (
    PREFIX,
    Keyring,
    SealedText,
    SecretsUnreadable,
    keys_from_file,
    process_keyring,
    reseal_all,
)
from plugin.models import load_all_models
from tests.builders import make_tenant

ZENDESK_TOKEN = "zd-token-0123456789abcdefghijklmnopqrstuv"
STRIPE_KEY = "sk_test_51Hsecretsecretsecret"


def raw(session: Session, sql: str, **params: object) -> str:
    value = session.execute(text(sql), params).scalar_one()
    assert isinstance(value, str)
    return value


def test_tenant_credentials_are_stored_sealed_and_read_back_in_clear(
    session: Session, clock: FixedClock
) -> None:
    tenant = make_tenant(session, clock, secret="whsec-visible-only-to-us").tenant
    tenant.zendesk_api_token = ZENDESK_TOKEN
    session.commit()

    stored_secret = raw(
        session, "SELECT zendesk_webhook_secret FROM plugin_tenant WHERE id = :id", id=tenant.id
    )
    stored_token = raw(session, "SELECT zendesk_api_token FROM plugin_tenant WHERE id = :id", id=tenant.id)
    assert stored_secret.startswith(PREFIX) and "whsec-visible" not in stored_secret
    assert stored_token.startswith(PREFIX) and ZENDESK_TOKEN not in stored_token

    session.expire_all()
    reloaded = session.get(Tenant, tenant.id)
    assert reloaded is not None
    assert (reloaded.zendesk_webhook_secret, reloaded.zendesk_api_token) == (
        "whsec-visible-only-to-us",
        ZENDESK_TOKEN,
    )


def test_connector_api_keys_are_stored_sealed(session: Session, clock: FixedClock) -> None:
    tenant = make_tenant(session, clock).tenant
    connectors.set_connector(
        session, tenant_id=tenant.id, kind="stripe", settings={"api_key": STRIPE_KEY}, clock=clock
    )
    session.commit()

    stored = raw(session, "SELECT settings FROM drafting_connector WHERE tenant_id = :id", id=tenant.id)
    assert STRIPE_KEY not in stored
    config = connectors.tenant_config(session, tenant_id=tenant.id)
    assert json.loads(config[0][1]) == {"api_key": STRIPE_KEY}
    assert connectors.list_connectors(session, tenant_id=tenant.id)[0].settings == {"api_key": "…cret"}


def test_values_from_before_sealing_are_read_then_resealed(session: Session, clock: FixedClock) -> None:
    tenant = make_tenant(session, clock).tenant
    # A row written by a version that stored credentials in clear.
    session.execute(
        update(Tenant)
        .where(Tenant.id == tenant.id)
        .values(
            zendesk_api_token=type_coerce(ZENDESK_TOKEN, Text),
            zendesk_webhook_secret=type_coerce("old", Text),
        )
    )
    session.expire_all()
    assert session.get(Tenant, tenant.id).zendesk_api_token == ZENDESK_TOKEN  # type: ignore[union-attr]

    load_all_models()
    assert reseal_all(session, Base.metadata, process_keyring()) >= 2

    stored = raw(session, "SELECT zendesk_api_token FROM plugin_tenant WHERE id = :id", id=tenant.id)
    assert stored.startswith(PREFIX)
    session.expire_all()
    reloaded = session.get(Tenant, tenant.id)
    assert reloaded is not None and (reloaded.zendesk_api_token, reloaded.zendesk_webhook_secret) == (
        ZENDESK_TOKEN,
        "old",
    )


def test_rotation_opens_with_the_old_key_and_reseals_with_the_new() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed_with_old = Keyring([old]).seal("secret")

    rotating = Keyring([new, old])
    assert rotating.open(sealed_with_old) == "secret"
    resealed = rotating.reseal(sealed_with_old)
    assert Keyring([new]).open(resealed) == "secret"
    with pytest.raises(SecretsUnreadable, match="key it was sealed with is missing"):
        Keyring([new]).open(sealed_with_old)


def test_sealing_twice_gives_different_text() -> None:
    keyring = Keyring([Fernet.generate_key().decode()])
    assert keyring.seal("same") != keyring.seal("same")


def test_a_malformed_key_is_refused_with_what_to_do() -> None:
    with pytest.raises(ValueError, match="Fernet keys"):
        Keyring(["not-a-key"])
    with pytest.raises(ValueError, match="at least one key"):
        Keyring([])


def test_the_key_file_is_created_once_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "var" / "secret.key"
    first = keys_from_file(path)
    assert keys_from_file(path) == first
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert Keyring(first).open(Keyring(first).seal("x")) == "x"


def test_sealed_columns_are_the_credentials() -> None:
    load_all_models()
    sealed = {
        f"{table.name}.{column.name}"
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, SealedText)
    }
    assert sealed == {
        "plugin_tenant.zendesk_webhook_secret",
        "plugin_tenant.zendesk_api_token",
        "drafting_connector.settings",
    }

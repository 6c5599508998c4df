"""Secrets at rest: credentials we must use again (a tenant's Zendesk token and webhook secret, its
connectors' API keys) are stored sealed with Fernet (AES-128-CBC + HMAC-SHA256), so a copy of the database
alone does not leak them.

Keys come from ``SECRET_KEYS`` (comma-separated Fernet keys; the first seals, all open: add a new key in
front, run ``outcomedesk secrets reseal``, then drop the old one). Without it, a key is generated once into
``SECRET_KEY_FILE`` (mode 0600, beside the SQLite database by default): fine on one machine, while a
deployment with several hosts sets ``SECRET_KEYS`` from its secret store. Values written before sealing
existed (no prefix) are read as they are until resealed.
"""

import os
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import MetaData, Text, TypeDecorator, select, type_coerce, update
from sqlalchemy.orm import Session

from plugin.core.config import get_settings

PREFIX = "sealed:v1:"


class SecretsUnreadable(RuntimeError):
    """A sealed value none of the configured keys opens: the keys changed under the database."""


class Keyring:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("a keyring needs at least one key")
        try:
            self._fernet = MultiFernet([Fernet(key) for key in keys])
        except ValueError as exc:
            raise ValueError(f"SECRET_KEYS must hold Fernet keys (Fernet.generate_key()): {exc}") from exc

    def seal(self, plaintext: str) -> str:
        return PREFIX + self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def open(self, stored: str) -> str:
        if not is_sealed(stored):
            return stored
        try:
            return self._fernet.decrypt(stored.removeprefix(PREFIX)).decode()
        except InvalidToken as exc:
            raise SecretsUnreadable(
                "a stored secret cannot be opened with SECRET_KEYS (or the key file): "
                "the key it was sealed with is missing"
            ) from exc

    def reseal(self, stored: str) -> str:
        """The value sealed with the first key (plaintext from before sealing included)."""
        return self.seal(self.open(stored))


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)


def keys_from_file(path: Path) -> list[str]:
    """The key in ``path``, created on first use (several processes may race to create it: one wins)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(Fernet.generate_key() + b"\n")
    for _ in range(50):
        key = path.read_text().strip()
        if key:
            return [key]
        time.sleep(0.01)  # the process creating it has not written it yet
    raise SecretsUnreadable(f"{path} is empty: delete it or set SECRET_KEYS")


@lru_cache
def process_keyring() -> Keyring:
    settings = get_settings()
    if settings.secret_keys:
        return Keyring([key.strip() for key in settings.secret_keys.split(",") if key.strip()])
    return Keyring(keys_from_file(settings.secret_key_file))


class SealedText(TypeDecorator[str]):
    """A text column whose values are sealed on the way in and opened on the way out."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else process_keyring().seal(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else process_keyring().open(value)


def reseal_all(session: Session, metadata: MetaData, keyring: Keyring) -> int:
    """Seal every sealed column's value again with the keyring's first key (plaintext from before sealing
    existed included); the number of values rewritten. Run after putting a new key first in SECRET_KEYS."""
    rewritten = 0
    for table in metadata.sorted_tables:
        sealed = [column for column in table.columns if isinstance(column.type, SealedText)]
        if not sealed:
            continue
        key_columns = list(table.primary_key.columns)
        raw = [type_coerce(column, Text).label(column.name) for column in sealed]
        for row in session.execute(select(*key_columns, *raw)).mappings():
            values = {
                column.name: keyring.reseal(row[column.name])
                for column in sealed
                if row[column.name] is not None
            }
            if not values:
                continue
            where = [column == row[column.name] for column in key_columns]
            session.execute(
                update(table).where(*where).values({name: type_coerce(v, Text) for name, v in values.items()})
            )
            rewritten += len(values)
    return rewritten

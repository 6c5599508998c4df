"""Bearer-token authentication with a short per-process cache.

Tokens are looked up in their own short transaction, never in the request's: a read-only request then
holds no database lock (SQLite) and a hot endpoint costs no query at all. A revoked token keeps working
for at most `ttl` in processes that have it cached.
"""

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from plugin.accounts.service import Principal, authenticate_token, hash_token
from plugin.core.db import transaction

DEFAULT_TTL = timedelta(seconds=30)


@dataclass
class PrincipalCache:
    ttl: timedelta = DEFAULT_TTL
    max_entries: int = 10_000
    _entries: OrderedDict[str, tuple[datetime, Principal]] = field(default_factory=OrderedDict)

    def get(self, key: str, now: datetime) -> Principal | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] <= now:
            self._entries.pop(key, None)
            return None
        return entry[1]

    def put(self, key: str, principal: Principal, now: datetime) -> None:
        until = now + self.ttl
        if principal.expires_at is not None:
            until = min(until, principal.expires_at)
        self._entries[key] = (until, principal)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


def authenticate(
    token: str, *, factory: sessionmaker[Session], cache: PrincipalCache, now: datetime
) -> Principal:
    """The principal of a bearer token, from the cache or a short lookup transaction."""
    key = hash_token(token)
    cached = cache.get(key, now)
    if cached is not None:
        return cached
    with transaction(factory) as session:
        principal = authenticate_token(session, token, now=now)
    cache.put(key, principal, now)
    return principal

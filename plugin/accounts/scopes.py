"""Roles and the scopes they carry; admin implies every other scope."""

from enum import StrEnum


class Scope(StrEnum):
    AGENT = "agent"
    MANAGER = "manager"
    FINANCE = "finance"
    ADMIN = "admin"


def parse_scopes(raw: str) -> frozenset[Scope]:
    return frozenset(Scope(part) for part in raw.split() if part)


def grants(held: frozenset[Scope], required: Scope) -> bool:
    return Scope.ADMIN in held or required in held

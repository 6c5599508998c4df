"""Deterministic arm assignment: the same (salt, unit id) lands in the same arm in every process and version.

SHA-256 rather than Python's `hash` (salted per process) or a library hash whose output may change; the
first eight bytes of the digest pick one of 10,000 buckets, so a split is a whole number of basis points.
"""

import hashlib
from enum import StrEnum

BUCKETS = 10_000
DEFAULT_ASSISTED_SHARE_BP = 5_000


class Arm(StrEnum):
    ASSISTED = "assisted"
    CONTROL = "control"


class Unit(StrEnum):
    """What is randomized: repeat contacts stay together (requester), per ticket, or per agent."""

    REQUESTER = "requester"
    TICKET = "ticket"
    AGENT = "agent"


def bucket(salt: str, unit_id: str) -> int:
    """The unit's bucket in [0, 10,000) for this salt."""
    digest = hashlib.sha256(f"{salt}\x1f{unit_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def assign_arm(salt: str, unit_id: str, assisted_share_bp: int = DEFAULT_ASSISTED_SHARE_BP) -> Arm:
    """Assisted when the unit's bucket falls below the assisted share (basis points of 10,000)."""
    if not 0 <= assisted_share_bp <= BUCKETS:
        raise ValueError(f"assisted share must be 0..{BUCKETS} basis points, got {assisted_share_bp}")
    return Arm.ASSISTED if bucket(salt, unit_id) < assisted_share_bp else Arm.CONTROL

"""Pydantic shapes of the metrics API."""

from datetime import datetime

from pydantic import BaseModel, Field

from metrics.assignment import BUCKETS, Arm, Unit


class ExperimentIn(BaseModel):
    unit: Unit = Unit.REQUESTER
    assisted_share: float = Field(0.5, ge=0.0, le=1.0, description="Share of units in the assisted arm")


class ExperimentOut(BaseModel):
    version: int
    unit: Unit
    assisted_share: float
    started_at: datetime


class AssignmentIn(BaseModel):
    ticket_id: str = Field(min_length=1, max_length=64)
    requester_id: str = Field(min_length=1, max_length=64)
    agent_id: str | None = Field(default=None, max_length=64)


class AssignmentOut(BaseModel):
    ticket_id: str
    arm: Arm


class ScheduleIn(BaseModel):
    timezone: str = Field("UTC", examples=["Europe/Rome"])
    hours: dict[str, list[tuple[str, str]]] = Field(
        default_factory=lambda: {day: [("09:00", "17:00")] for day in ("mon", "tue", "wed", "thu", "fri")},
        description="Weekday (mon..sun) to [open, close] local times",
    )
    holidays: list[str] = Field(default_factory=list, description="ISO dates the helpdesk is closed")


class ScheduleOut(ScheduleIn):
    pass


def share_to_bp(share: float) -> int:
    return round(share * BUCKETS)

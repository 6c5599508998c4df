"""Manager dashboard data: the assisted-vs-control report, its CSV, trends, segments, FRT histogram;
the experiment and business-hours settings; the arm of a ticket for the drafting path."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse
from sqlalchemy.orm import Session

from billing import service as billing_service
from metrics import service as metrics_service
from metrics.assignment import BUCKETS, Arm, Unit
from metrics.business_hours import Schedule
from metrics.report_document import report_csv
from metrics.schemas import (
    AssignmentIn,
    AssignmentOut,
    ExperimentIn,
    ExperimentOut,
    ScheduleIn,
    ScheduleOut,
    share_to_bp,
)
from plugin.accounts.service import Principal
from plugin.api.schemas import ERROR_RESPONSES
from plugin.core.clock import Clock
from plugin.core.errors import InvalidPayload
from plugin.deps import AdminPrincipal, AgentPrincipal, ClockDep, ManagerPrincipal, SessionDep

router = APIRouter(prefix="/api/v1", tags=["metrics"], responses=ERROR_RESPONSES)

Since = Annotated[datetime | None, Query(description="Tickets created at or after (ISO 8601 with zone)")]
Until = Annotated[datetime | None, Query(description="Tickets created before; events after it are ignored")]
CostPerHour = Annotated[str, Query(description="Loaded cost per agent hour in USD, e.g. 32.50")]
BusinessHours = Annotated[
    bool, Query(description="Times in the tenant's business hours instead of calendar time")
]
RepeatDays = Annotated[
    float, Query(gt=0, le=90, description="FCR: days after solve in which a new ticket counts")
]


def _window(since: datetime | None, until: datetime | None) -> None:
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and moment.tzinfo is None:
            raise InvalidPayload(f"{name}: give a time zone (e.g. 2026-01-31T00:00:00Z)")
    if since is not None and until is not None and until <= since:
        raise InvalidPayload("until must come after since")


def _cents_per_hour(usd: str) -> int:
    try:
        amount = Decimal(usd)
    except InvalidOperation:
        raise InvalidPayload(f"cost_per_agent_hour: {usd!r} is not an amount in USD") from None
    if not amount.is_finite() or amount < 0:
        raise InvalidPayload("cost_per_agent_hour must be a non-negative amount")
    return int((amount * 100).to_integral_value())


@dataclass
class ReportFilters:
    """The query parameters every report view shares, validated once."""

    since: Since = None
    until: Until = None
    cost_per_agent_hour: CostPerHour = "0"
    business_hours: BusinessHours = False

    def __post_init__(self) -> None:
        _window(self.since, self.until)
        self.cost_cents = _cents_per_hour(self.cost_per_agent_hour)


Filters = Annotated[ReportFilters, Depends()]


def _report(
    principal: Principal,
    session: Session,
    clock: Clock,
    filters: ReportFilters,
    *,
    repeat_contact_days: float = 7.0,
    sequential: bool = False,
    include_segments: bool = False,
    include_trends: bool = False,
) -> dict[str, Any]:
    return metrics_service.build_report(
        session,
        tenant_id=principal.tenant_id,
        since=filters.since,
        until=filters.until,
        clock=clock,
        cost_per_agent_hour_cents=filters.cost_cents,
        business_hours=filters.business_hours,
        repeat_contact_days=repeat_contact_days,
        sequential=sequential,
        include_segments=include_segments,
        include_trends=include_trends,
        fees_by_ticket=lambda ticket_ids: billing_service.fees_by_ticket(
            session, tenant_id=principal.tenant_id, ticket_ids=ticket_ids
        ),
    )


@router.get(
    "/metrics/report", summary="Assisted vs control: every metric per arm with 95% CIs, p-values, SRM"
)
def report(
    principal: ManagerPrincipal,
    session: SessionDep,
    clock: ClockDep,
    filters: Filters,
    repeat_contact_days: RepeatDays = 7.0,
    sequential: Annotated[bool, Query(description="Add always-valid intervals (safe to look daily)")] = False,
    segments: Annotated[bool, Query(description="Add segments by intent, channel, priority")] = False,
    trends: Annotated[bool, Query(description="Add daily and weekly trends")] = False,
) -> dict[str, Any]:
    return _report(
        principal,
        session,
        clock,
        filters,
        repeat_contact_days=repeat_contact_days,
        sequential=sequential,
        include_segments=segments,
        include_trends=trends,
    )


@router.get(
    "/metrics/report.csv",
    response_class=PlainTextResponse,
    summary="The report's headline table as CSV",
    responses={200: {"content": {"text/csv": {}}}},
)
def report_as_csv(
    principal: ManagerPrincipal,
    session: SessionDep,
    clock: ClockDep,
    filters: Filters,
    repeat_contact_days: RepeatDays = 7.0,
) -> PlainTextResponse:
    document = _report(
        principal,
        session,
        clock,
        filters,
        repeat_contact_days=repeat_contact_days,
    )
    return PlainTextResponse(
        report_csv(document),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="outcomedesk-metrics.csv"'},
    )


@router.get("/metrics/trends", summary="Daily or weekly series of each arm's headline metrics")
def trend_series(
    principal: ManagerPrincipal,
    session: SessionDep,
    clock: ClockDep,
    filters: Filters,
    period: Literal["day", "week"] = "day",
) -> dict[str, Any]:
    document = _report(
        principal,
        session,
        clock,
        filters,
        include_trends=True,
    )
    return {"period": period, "points": document["trends"][period]}


@router.get(
    "/metrics/segments", summary="Comparisons per intent, channel and priority (Holm and BH adjusted)"
)
def segment_breakdown(
    principal: ManagerPrincipal,
    session: SessionDep,
    clock: ClockDep,
    filters: Filters,
) -> dict[str, Any]:
    document = _report(
        principal,
        session,
        clock,
        filters,
        include_segments=True,
    )
    return document["segments"]


@router.get("/metrics/frt-histogram", summary="Tickets per first-reply-time bucket and arm")
def frt_distribution(
    principal: ManagerPrincipal,
    session: SessionDep,
    clock: ClockDep,
    filters: Filters,
) -> dict[str, Any]:
    document = _report(
        principal,
        session,
        clock,
        filters,
    )
    histogram: dict[str, Any] = document["frt_histogram"]
    return histogram


def _experiment_out(experiment: Any) -> ExperimentOut:
    return ExperimentOut(
        version=experiment.version,
        unit=Unit(experiment.unit),
        assisted_share=experiment.assisted_share_bp / BUCKETS,
        started_at=experiment.started_at,
    )


@router.get("/metrics/experiment", response_model=ExperimentOut, summary="The running experiment")
def experiment(principal: ManagerPrincipal, session: SessionDep, clock: ClockDep) -> ExperimentOut:
    return _experiment_out(
        metrics_service.get_experiment(session, tenant_id=principal.tenant_id, clock=clock)
    )


@router.put("/metrics/experiment", response_model=ExperimentOut, summary="Change unit or split (new version)")
def configure_experiment(
    principal: AdminPrincipal, session: SessionDep, clock: ClockDep, body: ExperimentIn
) -> ExperimentOut:
    updated = metrics_service.configure_experiment(
        session,
        tenant_id=principal.tenant_id,
        unit=body.unit,
        assisted_share_bp=share_to_bp(body.assisted_share),
        clock=clock,
    )
    return _experiment_out(updated)


@router.post("/metrics/assignments", response_model=AssignmentOut, summary="The ticket's arm (assigned once)")
def assign(
    principal: AgentPrincipal, session: SessionDep, clock: ClockDep, body: AssignmentIn
) -> AssignmentOut:
    arm = metrics_service.assign_ticket(
        session,
        tenant_id=principal.tenant_id,
        ticket_id=body.ticket_id,
        requester_id=body.requester_id,
        agent_id=body.agent_id,
        clock=clock,
    )
    return AssignmentOut(ticket_id=body.ticket_id, arm=Arm(arm))


@router.get(
    "/metrics/schedule", response_model=ScheduleOut, summary="Business hours used for business-time FRT"
)
def schedule(principal: ManagerPrincipal, session: SessionDep) -> ScheduleOut:
    return ScheduleOut.model_validate(
        metrics_service.get_schedule(session, tenant_id=principal.tenant_id).to_mapping()
    )


@router.put("/metrics/schedule", response_model=ScheduleOut, summary="Replace the business hours")
def replace_schedule(
    principal: AdminPrincipal, session: SessionDep, clock: ClockDep, body: ScheduleIn
) -> ScheduleOut:
    try:
        parsed = Schedule.from_mapping(
            {
                "timezone": body.timezone,
                "hours": {k: [list(v) for v in spans] for k, spans in body.hours.items()},
                "holidays": body.holidays,
            }
        )
    except (ValueError, KeyError) as error:
        raise InvalidPayload(f"schedule: {error}") from None
    saved = metrics_service.set_schedule(session, tenant_id=principal.tenant_id, schedule=parsed, clock=clock)
    return ScheduleOut.model_validate(saved.to_mapping())

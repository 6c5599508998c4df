from datetime import timedelta

from billing import service as billing_service


def test_fees_by_ticket_nets_charges_and_reversals_per_ticket(session, clock):
    common = {"tenant_id": 7, "arm": "assisted", "clock": clock, "draft_id": None}
    billing_service.record_outcome(
        session, kind="draft", ticket_id="A", idempotency_key="d:A", occurred_at=clock.now(), **common
    )
    billing_service.record_outcome(
        session, kind="resolution", ticket_id="B", idempotency_key="r:B", occurred_at=clock.now(), **common
    )
    billing_service.confirm_resolution(
        session, tenant_id=7, ticket_id="B", confirmed_at=clock.now(), clock=clock
    )
    clock.advance(timedelta(days=1))
    billing_service.reverse_on_reopen(
        session, tenant_id=7, ticket_id="B", reopened_at=clock.now(), clock=clock
    )

    fees = billing_service.fees_by_ticket(session, tenant_id=7, ticket_ids=["A", "B", "C"])

    assert fees == {"A": 25, "B": 0}
    assert billing_service.fees_by_ticket(session, tenant_id=8, ticket_ids=["A"]) == {}

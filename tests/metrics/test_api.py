from datetime import timedelta

from metrics import service
from plugin.accounts.scopes import Scope
from tests.builders import make_tenant
from tests.metrics.builders import ticket


def seed(session, clock, tenant, prefix: str, count: int) -> None:
    for index in range(count):
        events = ticket(
            f"{prefix}{index}",
            created=clock.now() + timedelta(minutes=index),
            arm="assisted" if index % 2 else "control",
            reply_after=timedelta(minutes=5),
            solved_after=timedelta(hours=1),
        )
        service.record_events(session, tenant_id=tenant.id, events=events, clock=clock)
    session.commit()


def test_manager_gets_the_report_json_and_csv(client, session, clock):
    acme = make_tenant(session, clock, "acme")
    seed(session, clock, acme, "a", 10)
    response = client.get("/api/v1/metrics/report", headers=acme.headers(Scope.MANAGER))
    assert response.status_code == 200
    body = response.json()
    assert body["arms"]["assisted"]["tickets"] + body["arms"]["control"]["tickets"] == 10
    assert "p_value" in body["srm"] and "fcr_rate" in body["comparisons"]
    csv_response = client.get(
        "/api/v1/metrics/report.csv",
        params={"cost_per_agent_hour": "30"},
        headers=acme.headers(Scope.MANAGER),
    )
    assert csv_response.status_code == 200
    assert csv_response.headers["content-type"].startswith("text/csv")
    assert csv_response.text.splitlines()[0].startswith("metric,assisted,control,diff")


def test_manager_of_one_tenant_never_sees_another_tenants_tickets(client, session, clock):
    acme = make_tenant(session, clock, "acme")
    globex = make_tenant(session, clock, "globex")
    seed(session, clock, acme, "a", 6)
    seed(session, clock, globex, "g", 14)
    for path in ("/api/v1/metrics/report", "/api/v1/metrics/frt-histogram", "/api/v1/metrics/segments"):
        acme_view = client.get(path, headers=acme.headers(Scope.MANAGER)).json()
        globex_view = client.get(path, headers=globex.headers(Scope.MANAGER)).json()
        assert acme_view != globex_view
    assert client.get("/api/v1/metrics/report", headers=acme.headers(Scope.MANAGER)).json()["tickets"] == 6
    assert client.get("/api/v1/metrics/report", headers=globex.headers(Scope.MANAGER)).json()["tickets"] == 14
    trends = client.get("/api/v1/metrics/trends", headers=acme.headers(Scope.MANAGER)).json()
    assert (
        sum(
            point["arms"]["assisted"]["tickets"] + point["arms"]["control"]["tickets"]
            for point in trends["points"]
        )
        == 6
    )


def test_an_assignment_in_one_tenant_is_invisible_to_another(client, session, clock):
    acme = make_tenant(session, clock, "acme")
    globex = make_tenant(session, clock, "globex")
    body = {"ticket_id": "t1", "requester_id": "ann"}
    first = client.post("/api/v1/metrics/assignments", json=body, headers=acme.headers(Scope.AGENT)).json()[
        "arm"
    ]
    client.put(
        "/api/v1/metrics/experiment",
        json={"unit": "ticket", "assisted_share": 1.0 if first == "control" else 0.0},
        headers=globex.headers(Scope.ADMIN),
    )
    other = client.post("/api/v1/metrics/assignments", json=body, headers=globex.headers(Scope.AGENT)).json()[
        "arm"
    ]
    assert other != first
    again = client.post("/api/v1/metrics/assignments", json=body, headers=acme.headers(Scope.AGENT)).json()[
        "arm"
    ]
    assert again == first


def test_report_requires_the_manager_scope(client, session, clock):
    acme = make_tenant(session, clock, "acme")
    assert client.get("/api/v1/metrics/report").status_code == 401
    forbidden = client.get("/api/v1/metrics/report", headers=acme.headers(Scope.AGENT))
    assert forbidden.status_code == 403 and forbidden.json()["error"] == "forbidden"


def test_experiment_changes_need_admin(client, session, clock):
    acme = make_tenant(session, clock, "acme")
    body = {"unit": "ticket", "assisted_share": 0.9}
    assert (
        client.put("/api/v1/metrics/experiment", json=body, headers=acme.headers(Scope.MANAGER)).status_code
        == 403
    )
    response = client.put("/api/v1/metrics/experiment", json=body, headers=acme.headers(Scope.ADMIN))
    assert response.status_code == 200
    assert response.json()["unit"] == "ticket" and response.json()["assisted_share"] == 0.9
    assert (
        client.get("/api/v1/metrics/experiment", headers=acme.headers(Scope.MANAGER)).json()["version"] == 2
    )


def test_bad_query_values_are_4xx_not_500(client, session, clock):
    acme = make_tenant(session, clock, "acme")
    headers = acme.headers(Scope.MANAGER)
    assert (
        client.get(
            "/api/v1/metrics/report", params={"since": "2026-01-01T00:00:00"}, headers=headers
        ).status_code
        == 422
    )
    assert (
        client.get(
            "/api/v1/metrics/report", params={"cost_per_agent_hour": "lots"}, headers=headers
        ).status_code
        == 422
    )
    bad_schedule = {"timezone": "Mars/Olympus"}
    assert (
        client.put(
            "/api/v1/metrics/schedule", json=bad_schedule, headers=acme.headers(Scope.ADMIN)
        ).status_code
        == 422
    )


def test_schedule_round_trips(client, session, clock):
    acme = make_tenant(session, clock, "acme")
    body = {"timezone": "Europe/Rome", "hours": {"mon": [["08:00", "12:00"]]}, "holidays": ["2026-12-25"]}
    assert (
        client.put("/api/v1/metrics/schedule", json=body, headers=acme.headers(Scope.ADMIN)).status_code
        == 200
    )
    stored = client.get("/api/v1/metrics/schedule", headers=acme.headers(Scope.MANAGER)).json()
    assert stored["timezone"] == "Europe/Rome" and stored["hours"]["mon"] == [["08:00", "12:00"]]
    assert stored["holidays"] == ["2026-12-25"]

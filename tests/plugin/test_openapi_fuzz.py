"""Schemathesis explores every route of the OpenAPI document: no input may produce a server error."""

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from plugin.accounts.scopes import Scope
from tests.builders import make_tenant

EXAMPLES_PER_OPERATION = 30


def test_no_route_answers_a_server_error(app, session, clock):
    admin = make_tenant(session, clock, "fuzz").headers(Scope.ADMIN)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 4

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def explore(case):
            response = case.call(headers=admin)
            case.validate_response(response, checks=[not_a_server_error])

        explore()

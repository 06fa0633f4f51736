"""Property-based tests of the API from its OpenAPI spec (schemathesis): for generated path and query
parameters every response is documented, matches its schema and is never a server error.

The spec is loaded from the app itself; the calls go through the TestClient of the `client` fixture,
whose app reads the demo content in the local AWS endpoint.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings

from seqpipe.web.app import create_app

schema = schemathesis.openapi.from_dict(create_app(secret="spec-only").openapi())
BOUNDED = settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _call(case, client, headers):
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
    response = client.request(
        kwargs["method"], kwargs["url"], params=kwargs.get("params"), headers=kwargs.get("headers")
    )
    return response


@schema.parametrize()
@BOUNDED
def test_the_api_honours_its_openapi_spec(case, client, token):
    headers = {"Authorization": f"Bearer {token}"}
    response = _call(case, client, headers)
    case.validate_response(response, headers=headers)


@schema.parametrize()
@settings(BOUNDED, max_examples=3)
def test_every_operation_refuses_a_wrong_token_with_401(case, client):
    response = _call(case, client, {"Authorization": "Bearer forged.token"})
    # schemathesis also probes undocumented methods (TRACE, ...): those are 405 before any auth.
    documented = case.method.upper() == case.operation.method.upper()
    assert response.status_code == (401 if documented else 405), (case.method, response.request.url)
    case.validate_response(response)

"""Schemathesis over the OpenAPI document: generated requests never cause a server error.

Bounded on purpose (a few examples per operation) to keep the suite fast; run it with more
examples by hand when the API changes a lot.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from tests.access.helpers import SYSTEM, make_tenant

from carecall.access import apikeys
from carecall.access.rules import KEY_GRANTABLE
from carecall.api.app import create_api
from carecall.app import Carecall

EXAMPLES = 4


def test_no_server_errors(carecall: Carecall) -> None:
    tenant = make_tenant(carecall)
    _, secret = apikeys.create_key(carecall, SYSTEM, tenant.id, "fuzz",
                                   frozenset(a.value for a in KEY_GRANTABLE))
    api = create_api(carecall, publish_heads=False, login_per_minute=100_000,
                     phi_per_minute=100_000)
    schema = schemathesis.openapi.from_asgi("/openapi.json", api)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            for headers in ({"Authorization": f"Bearer {secret}"}, {}):
                response = case.call(headers=headers)
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path}: "
                                    f"{response.status_code} {response.text[:120]}")
        run()
    assert operations >= 20
    assert failures == []

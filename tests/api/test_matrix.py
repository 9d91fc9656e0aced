"""Every endpoint against the permission table: no credentials, wrong role, wrong tenant."""

from __future__ import annotations

import re

from tests.api.world import (
    ENDPOINTS,
    PATIENT_DOORS,
    PUBLIC,
    body_of,
    build_world,
    call,
    client_for,
    fill,
    random_ids,
)

from carecall.access.rules import ON_ASSIGNMENT, PERMISSIONS, Role
from carecall.app import Carecall
from carecall.core.clock import FixedClock


def _template(path: str) -> str:
    return re.sub(r"\{[a-z_]+\}", "{}", path.split("?", maxsplit=1)[0])


def test_endpoint_list_covers_every_route(carecall: Carecall, clock: FixedClock) -> None:
    from carecall.api.app import create_api

    api = create_api(carecall, publish_heads=False)
    paths = api.openapi()["paths"]
    routes = {(m.upper(), _template(p)) for p, ops in paths.items()
              if p.startswith("/api/v1") and p not in PUBLIC for m in ops}
    listed = {(m, _template(p)) for m, p, _, _ in ENDPOINTS}
    assert routes == listed


def test_every_endpoint_needs_credentials(carecall: Carecall, clock: FixedClock) -> None:
    world = build_world(carecall, clock)
    anonymous = client_for(world.api)
    ids = random_ids() | {"t": world.ids["t"], "p": world.ids["p"]}
    for method, path, _, factory in ENDPOINTS:
        response = call(anonymous, method, fill(path, ids), body_of(factory, ids))
        assert response.status_code == 401, (method, path, response.text)
        assert response.json()["code"] == "AUTH_REQUIRED"
    forged = client_for(world.api)
    forged.headers["Authorization"] = "Bearer cck_0123456789ab_forged"
    response = forged.get(fill("/api/v1/tenants/{t}", ids))
    assert response.status_code == 401
    assert response.json()["code"] == "AUTH_FAILED"


def test_roles_follow_the_permission_table(carecall: Carecall, clock: FixedClock) -> None:
    world = build_world(carecall, clock)
    wrong: list[str] = []
    for method, path, action, factory in ENDPOINTS:
        for role in Role:
            response = call(world.clients[role], method, fill(path, world.ids),
                            body_of(factory, world.ids))
            allowed = action is None or (role, action) in PERMISSIONS
            status = response.status_code
            if allowed:
                ok = status not in (401, 403, 500)
            elif (role, action) in ON_ASSIGNMENT and path in PATIENT_DOORS:
                # No hand-off assignment in this world: the patient is "not found".
                ok = status == 404 and response.json()["code"] == "NOT_FOUND"
            else:
                ok = status == 403 and response.json()["code"] == "PERMISSION_DENIED"
            if not ok:
                wrong.append(f"{role} {method} {path}: {status} {response.text[:120]}")
    assert wrong == []


def test_other_tenants_ids_answer_not_found(carecall: Carecall, clock: FixedClock) -> None:
    world = build_world(carecall, clock)
    ids = world.ids | {"t": world.ids["other"]}
    wrong: list[str] = []
    for method, path, action, factory in ENDPOINTS:
        if "{t}" not in path and not (action and action.value.startswith("tenants")):
            continue
        for role in Role:
            if role == Role.PLATFORM_ADMIN or "{t}" not in path:
                continue
            response = call(world.clients[role], method, fill(path, ids), body_of(factory, ids))
            if response.status_code != 404:
                wrong.append(f"{role} {method} {path}: {response.status_code}")
    assert wrong == []

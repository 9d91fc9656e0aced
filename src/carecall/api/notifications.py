"""/api/v1/me/notifications: the calling user's own notices (e.g. a colleague's
break-glass, for privacy officers). Ids and codes only."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from carecall.access import service
from carecall.api.deps import AppDep, PrincipalDep
from carecall.api.errors import AUTHED, errors

router = APIRouter(prefix="/api/v1/me/notifications", tags=["users"],
                   responses=errors(*AUTHED))


class NotificationOut(BaseModel):
    id: uuid.UUID
    kind: str
    resource_type: str
    resource_id: str | None
    created_at: datetime
    read_at: datetime | None


@router.get("", response_model=list[NotificationOut], summary="My notifications")
def mine(app: AppDep, principal: PrincipalDep) -> list[NotificationOut]:
    return [NotificationOut(id=n.id, kind=n.kind, resource_type=n.resource_type,
                            resource_id=n.resource_id, created_at=n.created_at,
                            read_at=n.read_at)
            for n in service.my_notifications(app, principal)]

"""/api/v1/users: people who log in, their enrolment and training records."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from carecall.access import service
from carecall.access.model import User
from carecall.access.service import Enrolment
from carecall.api.deps import AppDep, PrincipalDep
from carecall.api.errors import AUTHED, errors

router = APIRouter(prefix="/api/v1/users", tags=["users"], responses=errors(*AUTHED))


class UserOut(BaseModel):
    id: uuid.UUID
    tenant_id: uuid.UUID | None
    username: str
    role: str
    enrolled: bool
    disabled: bool
    locked_until: datetime | None


class UserIn(BaseModel):
    username: str = Field(min_length=3, max_length=120)
    role: str = Field(max_length=30)
    tenant_id: uuid.UUID | None = None


class EnrolmentOut(BaseModel):
    user: UserOut
    enrolment_token: str = Field(description="One-time; give it to the user, it is not "
                                 "shown again. Expires in 24 hours.")
    enrolment_link: str
    expires_at: datetime


class TrainingIn(BaseModel):
    completed_on: date
    course: str = Field(default="hipaa-privacy-security", min_length=1, max_length=100)


def _out(user: User) -> UserOut:
    return UserOut(id=user.id, tenant_id=user.tenant_id, username=user.username, role=user.role,
                   enrolled=user.enrolled, disabled=user.disabled_at is not None,
                   locked_until=user.locked_until)


def _enrolment(app: AppDep, enrolment: Enrolment) -> EnrolmentOut:
    return EnrolmentOut(user=_out(enrolment.user), enrolment_token=enrolment.token,
                        enrolment_link=enrolment.link(app.settings.public_base_url),
                        expires_at=enrolment.expires_at)


@router.get("", response_model=list[UserOut], summary="List users")
def list_users(app: AppDep, principal: PrincipalDep,
               tenant_id: uuid.UUID | None = None) -> list[UserOut]:
    return [_out(u) for u in service.list_users(app, principal, tenant_id or principal.tenant_id)]


@router.post("", response_model=EnrolmentOut, status_code=201, summary="Add a user",
             responses=errors(409))
def add_user(body: UserIn, app: AppDep, principal: PrincipalDep) -> EnrolmentOut:
    return _enrolment(app, service.add_user(app, principal, username=body.username,
                                            role=body.role, tenant_id=body.tenant_id))


@router.get("/{user_id}", response_model=UserOut, summary="One user")
def get_user(user_id: uuid.UUID, app: AppDep, principal: PrincipalDep) -> UserOut:
    return _out(service.get_user(app, principal, user_id))


@router.post("/{user_id}/disable", status_code=204, summary="Disable a user and end sessions")
def disable_user(user_id: uuid.UUID, app: AppDep, principal: PrincipalDep) -> Response:
    service.disable_user(app, principal, user_id)
    return Response(status_code=204)


@router.post("/{user_id}/reset", response_model=EnrolmentOut,
             summary="New enrolment token (clears password and TOTP)")
def reset_user(user_id: uuid.UUID, app: AppDep, principal: PrincipalDep) -> EnrolmentOut:
    return _enrolment(app, service.reissue_enrolment(app, principal, user_id))


@router.post("/{user_id}/training", status_code=204, summary="Record HIPAA training")
def record_training(user_id: uuid.UUID, body: TrainingIn, app: AppDep,
                    principal: PrincipalDep) -> Response:
    service.record_training(app, principal, user_id, body.completed_on, body.course)
    return Response(status_code=204)

"""Pure access decisions: the permission matrix, minimum necessary, and the limits of
passwords, lockout and sessions. Every function returns a ``Decision`` with reason codes or
a plain value; nothing here does I/O.

The matrix is data on purpose: one table of (role, action) pairs, so a change to who may do
what is a one-line diff a reviewer sees, and a test walks every pair.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum

from carecall.access.model import Assignment, Principal
from carecall.core.decision import ALLOW, Decision, deny
from carecall.tenants.model import Purpose


class Role(StrEnum):
    PLATFORM_ADMIN = "platform_admin"
    TENANT_ADMIN = "tenant_admin"
    PRIVACY_OFFICER = "privacy_officer"
    SUPERVISOR = "supervisor"
    AGENT = "agent"
    AUDITOR = "auditor"


#: Roles held by the operator's own users (no tenant); every other role belongs to a tenant.
PLATFORM_ROLES = frozenset({Role.PLATFORM_ADMIN})


class Action(StrEnum):
    TENANTS_CREATE = "tenants:create"
    TENANTS_READ = "tenants:read"
    BAAS_WRITE = "baas:write"
    USERS_READ = "users:read"
    USERS_WRITE = "users:write"
    APIKEYS_READ = "apikeys:read"
    APIKEYS_WRITE = "apikeys:write"
    TRAINING_WRITE = "training:write"
    AUDIT_READ = "audit:read"
    BREAK_GLASS = "breakglass:invoke"
    KEYS_ROTATE = "keys:rotate"
    PATIENTS_SEARCH = "patients:search"
    PATIENTS_READ = "patients:read"
    PATIENTS_REVEAL = "patients:reveal"
    PATIENTS_WRITE = "patients:write"
    PATIENTS_IMPORT = "patients:import"
    PATIENTS_EXPORT = "patients:export"
    PATIENTS_SHRED = "patients:shred"
    APPOINTMENTS_READ = "appointments:read"
    CONSENT_READ = "consent:read"
    CONSENT_WRITE = "consent:write"
    DNC_READ = "dnc:read"
    DNC_WRITE = "dnc:write"
    CAMPAIGNS_READ = "campaigns:read"
    CAMPAIGNS_WRITE = "campaigns:write"
    RECORDINGS_READ = "recordings:read"
    RECORDINGS_READ_RAW = "recordings:read_raw"
    CALLS_SIMULATE = "calls:simulate"
    HANDOFFS_READ = "handoffs:read"
    HANDOFFS_CLAIM = "handoffs:claim"
    HANDOFFS_MANAGE = "handoffs:manage"


R, A = Role, Action

#: THE permission matrix. A pair present means the role may perform the action (still only
#: inside its own tenant, for a purpose, and with current training where PHI is involved).
PERMISSIONS: frozenset[tuple[Role, Action]] = frozenset({
    (R.PLATFORM_ADMIN, A.TENANTS_CREATE),
    (R.PLATFORM_ADMIN, A.TENANTS_READ),
    (R.PLATFORM_ADMIN, A.BAAS_WRITE),
    (R.PLATFORM_ADMIN, A.USERS_READ),
    (R.PLATFORM_ADMIN, A.USERS_WRITE),
    (R.PLATFORM_ADMIN, A.AUDIT_READ),
    (R.PLATFORM_ADMIN, A.KEYS_ROTATE),
    (R.TENANT_ADMIN, A.TENANTS_READ),
    (R.TENANT_ADMIN, A.BAAS_WRITE),
    (R.TENANT_ADMIN, A.USERS_READ),
    (R.TENANT_ADMIN, A.USERS_WRITE),
    (R.TENANT_ADMIN, A.APIKEYS_READ),
    (R.TENANT_ADMIN, A.APIKEYS_WRITE),
    (R.TENANT_ADMIN, A.TRAINING_WRITE),
    (R.TENANT_ADMIN, A.BREAK_GLASS),
    (R.TENANT_ADMIN, A.PATIENTS_SEARCH),
    (R.TENANT_ADMIN, A.PATIENTS_READ),
    (R.TENANT_ADMIN, A.PATIENTS_WRITE),
    (R.TENANT_ADMIN, A.PATIENTS_IMPORT),
    (R.TENANT_ADMIN, A.APPOINTMENTS_READ),
    (R.TENANT_ADMIN, A.CONSENT_READ),
    # QA and demos: a simulated call reaches the practice's real records once "verified".
    (R.TENANT_ADMIN, A.CALLS_SIMULATE),
    (R.SUPERVISOR, A.CALLS_SIMULATE),
    (R.TENANT_ADMIN, A.CONSENT_WRITE),
    (R.TENANT_ADMIN, A.DNC_READ),
    (R.TENANT_ADMIN, A.DNC_WRITE),
    (R.TENANT_ADMIN, A.CAMPAIGNS_READ),
    (R.TENANT_ADMIN, A.CAMPAIGNS_WRITE),
    (R.PRIVACY_OFFICER, A.TENANTS_READ),
    (R.PRIVACY_OFFICER, A.USERS_READ),
    (R.PRIVACY_OFFICER, A.APIKEYS_READ),
    (R.PRIVACY_OFFICER, A.TRAINING_WRITE),
    (R.PRIVACY_OFFICER, A.AUDIT_READ),
    (R.PRIVACY_OFFICER, A.BREAK_GLASS),
    (R.PRIVACY_OFFICER, A.PATIENTS_SEARCH),
    (R.PRIVACY_OFFICER, A.PATIENTS_READ),
    (R.PRIVACY_OFFICER, A.PATIENTS_REVEAL),
    (R.PRIVACY_OFFICER, A.PATIENTS_EXPORT),
    (R.PRIVACY_OFFICER, A.PATIENTS_SHRED),
    (R.PRIVACY_OFFICER, A.APPOINTMENTS_READ),
    (R.PRIVACY_OFFICER, A.CONSENT_READ),
    (R.PRIVACY_OFFICER, A.CONSENT_WRITE),
    (R.PRIVACY_OFFICER, A.DNC_READ),
    (R.PRIVACY_OFFICER, A.DNC_WRITE),
    (R.PRIVACY_OFFICER, A.CAMPAIGNS_READ),
    (R.PRIVACY_OFFICER, A.RECORDINGS_READ),
    (R.PRIVACY_OFFICER, A.RECORDINGS_READ_RAW),
    (R.SUPERVISOR, A.TENANTS_READ),
    (R.SUPERVISOR, A.BREAK_GLASS),
    (R.SUPERVISOR, A.PATIENTS_SEARCH),
    (R.SUPERVISOR, A.PATIENTS_READ),
    (R.SUPERVISOR, A.PATIENTS_REVEAL),
    (R.SUPERVISOR, A.PATIENTS_WRITE),
    (R.SUPERVISOR, A.APPOINTMENTS_READ),
    (R.SUPERVISOR, A.CONSENT_READ),
    (R.SUPERVISOR, A.CONSENT_WRITE),
    (R.SUPERVISOR, A.DNC_READ),
    (R.SUPERVISOR, A.DNC_WRITE),
    (R.SUPERVISOR, A.CAMPAIGNS_READ),
    (R.SUPERVISOR, A.CAMPAIGNS_WRITE),
    (R.SUPERVISOR, A.RECORDINGS_READ),
    (R.SUPERVISOR, A.HANDOFFS_READ),
    (R.SUPERVISOR, A.HANDOFFS_CLAIM),
    (R.SUPERVISOR, A.HANDOFFS_MANAGE),
    (R.AGENT, A.BREAK_GLASS),
    # An agent's patient actions are in ON_ASSIGNMENT below: only for the patient of a
    # handed-off call the agent took, while that lasts. No search: the call names the patient.
    # Agents take do-not-call requests on the phone (64.1200(d)).
    (R.AGENT, A.DNC_WRITE),
    (R.AGENT, A.HANDOFFS_READ),
    (R.AGENT, A.HANDOFFS_CLAIM),
    (R.AUDITOR, A.TENANTS_READ),
    (R.AUDITOR, A.USERS_READ),
    (R.AUDITOR, A.AUDIT_READ),
    (R.AUDITOR, A.CAMPAIGNS_READ),
})

#: The second table: pairs granted only for the patient named by an active hand-off
#: assignment of the acting user (``on_assignment``), never tenant-wide. Minimum necessary
#: (45 CFR 164.502(b), 164.514(d)): a human agent needs the patient on the call, not the
#: practice's directory. Disjoint from PERMISSIONS (a test checks).
ON_ASSIGNMENT: frozenset[tuple[Role, Action]] = frozenset({
    (R.AGENT, A.PATIENTS_READ),
    (R.AGENT, A.PATIENTS_REVEAL),
    (R.AGENT, A.APPOINTMENTS_READ),
    # Revocations and consents said on the phone (64.1200(a)(10)), for the caller's record.
    (R.AGENT, A.CONSENT_READ),
    (R.AGENT, A.CONSENT_WRITE),
})

#: Actions that touch PHI: these need current HIPAA training (45 CFR 164.308(a)(5)).
PHI_ACTIONS: frozenset[Action] = frozenset(a for a in Action if a.value.startswith(
    ("patients:", "appointments:", "recordings:", "consent:", "calls:",
                                               "dnc:")))

#: What a break-glass elevation adds (45 CFR 164.312(a)(2)(ii), emergency access procedure).
BREAK_GLASS_ACTIONS: frozenset[Action] = frozenset({
    A.PATIENTS_SEARCH, A.PATIENTS_READ, A.PATIENTS_REVEAL, A.APPOINTMENTS_READ})

#: Actions an API key may be granted; managing people and keys stays with humans.
KEY_GRANTABLE: frozenset[Action] = frozenset({
    A.TENANTS_READ, A.PATIENTS_SEARCH, A.PATIENTS_READ, A.PATIENTS_REVEAL, A.PATIENTS_WRITE,
    A.PATIENTS_IMPORT, A.APPOINTMENTS_READ, A.AUDIT_READ, A.CAMPAIGNS_READ, A.CAMPAIGNS_WRITE,
    A.CONSENT_READ, A.CONSENT_WRITE, A.DNC_READ, A.DNC_WRITE})

#: 45 CFR 164.308(a)(5): training is renewed yearly.
TRAINING_VALIDITY = timedelta(days=365)
BREAK_GLASS_MAX = timedelta(hours=1)
#: The longest a hand-off assignment lasts; a call still open after that is claimed again.
HANDOFF_MAX = timedelta(hours=2)


class AccessReason(StrEnum):
    NOT_PERMITTED = "NOT_PERMITTED"
    TRAINING_EXPIRED = "TRAINING_EXPIRED"
    KEY_SCOPE = "KEY_SCOPE"
    #: The action is the role's only for the patient of an active hand-off assignment, and
    #: no such assignment names the patient (or no patient was named).
    NOT_ASSIGNED = "NOT_ASSIGNED"
    #: With NOT_ASSIGNED: an assignment for that patient existed but has ended / expired.
    ASSIGNMENT_ENDED = "ASSIGNMENT_ENDED"
    ASSIGNMENT_EXPIRED = "ASSIGNMENT_EXPIRED"


def role_allows(roles: Iterable[str], action: Action) -> bool:
    return any((role, action) in PERMISSIONS for role in _known(roles))


def _known(roles: Iterable[str]) -> list[Role]:
    return [Role(r) for r in roles if r in Role.__members__.values()]


def elevated(principal: Principal, now: datetime) -> bool:
    return principal.elevated_until is not None and now < principal.elevated_until


def permits(principal: Principal, action: Action, now: datetime) -> Decision:
    """May this principal perform ``action`` now? System components always may; tenant
    scope is checked separately (``guard.ensure_tenant``)."""
    if principal.kind == "system":
        return ALLOW
    if principal.kind == "api_key":
        if action not in KEY_GRANTABLE or action.value not in principal.permissions:
            return deny(AccessReason.KEY_SCOPE)
        return ALLOW
    granted = role_allows(principal.roles, action)
    if not granted and action in BREAK_GLASS_ACTIONS and elevated(principal, now):
        granted = principal.tenant_id is not None
    if not granted:
        scoped = on_assignment(principal, action, principal.patient_scope,
                               principal.assignments, now)
        if not scoped:
            return scoped
    if action in PHI_ACTIONS and not training_current(principal, now):
        return deny(AccessReason.TRAINING_EXPIRED)
    return ALLOW


def holds_on_assignment(principal: Principal) -> bool:
    """Does one of the principal's roles hold actions on assignment (so the user's
    assignments are worth loading when a request names a patient)?"""
    roles = set(_known(principal.roles))
    return principal.kind == "user" and any(role in roles for role, _ in ON_ASSIGNMENT)


def assignment_active(assignment: Assignment, now: datetime) -> bool:
    """Started, not ended, not expired."""
    return (assignment.ended_at is None
            and assignment.started_at <= now < assignment.expires_at)


def on_assignment(
    principal: Principal,
    action: Action,
    patient_id: uuid.UUID | None,
    assignments: Iterable[Assignment],
    now: datetime,
) -> Decision:
    """The extra rule of ON_ASSIGNMENT: allow when one of the principal's roles holds
    ``action`` on assignment and an active assignment of this very user, in the user's own
    tenant, names ``patient_id``. Anything else is NOT_ASSIGNED (NOT_PERMITTED when no role
    holds the action on assignment either), with ASSIGNMENT_ENDED / ASSIGNMENT_EXPIRED when
    the user's assignment for that patient is over."""
    if principal.kind != "user" or not any(
            (role, action) in ON_ASSIGNMENT for role in _known(principal.roles)):
        return deny(AccessReason.NOT_PERMITTED)
    if patient_id is None or principal.tenant_id is None:
        return deny(AccessReason.NOT_ASSIGNED)
    over: list[AccessReason] = []
    for assignment in assignments:
        if (str(assignment.agent_id) != principal.id
                or assignment.tenant_id != principal.tenant_id
                or assignment.patient_id is None
                or assignment.patient_id != patient_id):
            continue
        if assignment_active(assignment, now):
            return ALLOW
        if assignment.ended_at is not None:
            over.append(AccessReason.ASSIGNMENT_ENDED)
        elif now >= assignment.expires_at:
            over.append(AccessReason.ASSIGNMENT_EXPIRED)
    return deny(AccessReason.NOT_ASSIGNED, *sorted(set(over)))


def training_current(principal: Principal, now: datetime) -> bool:
    until = principal.training_valid_until
    return until is not None and now < until


# --- minimum necessary -------------------------------------------------------------------


class Section(StrEnum):
    """Parts of a patient record, the unit minimum-necessary decisions are made in."""

    NAME = "name"
    DOB = "dob"
    CONTACT = "contact"
    MRN = "mrn"
    APPOINTMENTS = "appointments"
    BILLING = "billing"
    PRESCRIPTIONS = "prescriptions"
    LAB_RESULTS = "lab_results"


S = Section
_IDENT = (S.NAME, S.DOB, S.CONTACT)

#: 45 CFR 164.502(b), 164.514(d): what each purpose needs, and nothing more. Scheduling sees
#: appointments, not balances; billing sees balances, not prescriptions.
PURPOSE_SECTIONS: dict[Purpose, frozenset[Section]] = {
    Purpose.SCHEDULING: frozenset({*_IDENT, S.APPOINTMENTS}),
    Purpose.APPOINTMENT_REMINDER: frozenset({*_IDENT, S.APPOINTMENTS}),
    Purpose.WELLNESS_CHECKUP: frozenset({*_IDENT, S.APPOINTMENTS}),
    Purpose.HOSPITAL_PREREGISTRATION: frozenset({*_IDENT, S.MRN, S.APPOINTMENTS}),
    Purpose.PREOPERATIVE_INSTRUCTIONS: frozenset({*_IDENT, S.APPOINTMENTS}),
    Purpose.POST_DISCHARGE_FOLLOWUP: frozenset({*_IDENT, S.APPOINTMENTS}),
    Purpose.HOME_HEALTHCARE_INSTRUCTIONS: frozenset({*_IDENT, S.APPOINTMENTS}),
    Purpose.BILLING_ENQUIRY: frozenset({*_IDENT, S.BILLING}),
    Purpose.PRESCRIPTION_NOTIFICATION: frozenset({*_IDENT, S.PRESCRIPTIONS}),
    Purpose.LAB_RESULTS: frozenset({*_IDENT, S.LAB_RESULTS}),
    Purpose.PATIENT_SUPPORT: frozenset({*_IDENT, S.MRN, S.APPOINTMENTS}),
}

ALL_SECTIONS = frozenset(Section)

#: The most of a record each role may ever see; the purpose narrows it further.
ROLE_SECTIONS: dict[Role, frozenset[Section]] = {
    Role.PLATFORM_ADMIN: frozenset(),
    Role.TENANT_ADMIN: frozenset({*_IDENT, S.MRN, S.APPOINTMENTS}),
    Role.PRIVACY_OFFICER: ALL_SECTIONS,
    Role.SUPERVISOR: ALL_SECTIONS,
    Role.AGENT: ALL_SECTIONS,
    Role.AUDITOR: frozenset(),
}


def visible_sections(principal: Principal, purpose: Purpose, now: datetime) -> frozenset[Section]:
    """Role ceiling intersected with what the purpose needs. Break-glass lifts the role
    ceiling (not the purpose: the emergency still has a stated purpose)."""
    need = PURPOSE_SECTIONS[purpose]
    if principal.kind != "user" or elevated(principal, now):
        return need
    ceiling: frozenset[Section] = frozenset()
    for role in _known(principal.roles):
        ceiling |= ROLE_SECTIONS[role]
    return need & ceiling


class RevealReason(StrEnum):
    """Why a user unmasked PHI; stored as this code, never as free text (which could hold
    PHI), in the audit entry of every reveal."""

    PATIENT_ON_CALL = "patient_on_call"
    SCHEDULING_TASK = "scheduling_task"
    BILLING_TASK = "billing_task"
    CARE_COORDINATION = "care_coordination"
    RIGHT_OF_ACCESS = "right_of_access"
    DATA_CORRECTION = "data_correction"
    EMERGENCY = "emergency"


class BreakGlassReason(StrEnum):
    PATIENT_SAFETY = "patient_safety"
    CLINICIAN_UNAVAILABLE = "clinician_unavailable"
    SYSTEM_OUTAGE = "system_outage"
    LEGAL_REQUIREMENT = "legal_requirement"


# --- authentication limits ---------------------------------------------------------------

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
DEFAULT_IDLE = timedelta(minutes=15)
MAX_IDLE_MINUTES = 30
ABSOLUTE_LIFETIME = timedelta(hours=12)
#: A password-only session waiting for its TOTP code lives this long.
MFA_PENDING_LIFETIME = timedelta(minutes=10)


class AuthReason(StrEnum):
    PASSWORD_TOO_SHORT = "PASSWORD_TOO_SHORT"  # noqa: S105 - a reason code
    PASSWORD_TOO_LONG = "PASSWORD_TOO_LONG"  # noqa: S105 - a reason code
    PASSWORD_COMMON = "PASSWORD_COMMON"  # noqa: S105 - a reason code
    SESSION_IDLE = "SESSION_IDLE"
    SESSION_ABSOLUTE = "SESSION_ABSOLUTE"
    SESSION_REVOKED = "SESSION_REVOKED"


def password_acceptable(password: str, common: frozenset[str]) -> Decision:
    """NIST SP 800-63B 5.1.1.2: a length floor and a blocklist, no composition rules."""
    reasons: list[AuthReason] = []
    if len(password) < MIN_PASSWORD_LENGTH:
        reasons.append(AuthReason.PASSWORD_TOO_SHORT)
    if len(password) > MAX_PASSWORD_LENGTH:
        reasons.append(AuthReason.PASSWORD_TOO_LONG)
    if password.lower() in common:
        reasons.append(AuthReason.PASSWORD_COMMON)
    return deny(*reasons) if reasons else ALLOW


def locked(locked_until: datetime | None, now: datetime) -> bool:
    return locked_until is not None and now < locked_until


def after_failure(failures: int, now: datetime) -> tuple[int, datetime | None]:
    """The new failure count and lock: the fifth consecutive failure locks for 15 minutes
    and starts the count again."""
    failures += 1
    if failures >= MAX_FAILURES:
        return 0, now + LOCKOUT
    return failures, None


def idle_limit(tenant_minutes: int | None) -> timedelta:
    """45 CFR 164.312(a)(2)(iii) automatic logoff: 15 minutes unless the practice chose
    another value, never more than 30."""
    if tenant_minutes is None:
        return DEFAULT_IDLE
    return timedelta(minutes=max(1, min(tenant_minutes, MAX_IDLE_MINUTES)))


def session_valid(
    *,
    created_at: datetime,
    last_seen_at: datetime,
    idle: timedelta,
    revoked: bool,
    now: datetime,
    absolute: timedelta = ABSOLUTE_LIFETIME,
) -> Decision:
    if revoked:
        return deny(AuthReason.SESSION_REVOKED)
    if now >= created_at + absolute:
        return deny(AuthReason.SESSION_ABSOLUTE)
    if now >= last_seen_at + idle:
        return deny(AuthReason.SESSION_IDLE)
    return ALLOW

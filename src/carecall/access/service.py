"""Identity use cases: users and enrolment, login with mandatory TOTP, server-side sessions,
logout, break-glass and training records.

Authentication answers every failure with the same ``AUTH_FAILED`` so nothing tells
whether a user exists; each failure is audited in its own unit of work (it must outlive the
failed request). Sessions are rows keyed by the SHA-256 of their token; the token itself is
only ever in the user's cookie.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from argon2 import PasswordHasher
from sqlalchemy.exc import IntegrityError

from carecall.access import tokens, totp
from carecall.access.errors import AuthFailed, AuthRequired, CsrfFailed, MfaRequired, SessionExpired
from carecall.access.guard import authorize, reaches_tenant, security_event
from carecall.access.model import Principal, SessionRecord, User
from carecall.access.passwords import check_policy, hash_secret, hasher, verify_secret
from carecall.access.rules import (
    ABSOLUTE_LIFETIME,
    BREAK_GLASS_MAX,
    MFA_PENDING_LIFETIME,
    PLATFORM_ROLES,
    TRAINING_VALIDITY,
    Action,
    BreakGlassReason,
    Role,
    after_failure,
    idle_limit,
    locked,
    session_valid,
)
from carecall.access.store import AccessStore
from carecall.app import Carecall
from carecall.audit.model import AuditEvent, DetailValue
from carecall.audit.store import append
from carecall.core.errors import Conflict, InvalidInput, NotFound
from carecall.core.ids import new_id
from carecall.tenants.store import TenantStore

ENROLMENT_LIFETIME = timedelta(hours=24)
AUTH_FAILED_MESSAGE = (
    "Wrong username, password or code, or the account is locked for 15 minutes after "
    "repeated failures; try again or ask your administrator."
)


def password_hasher(app: Carecall) -> PasswordHasher:
    extra = app.settings.extra
    return hasher(extra.get("argon2_time_cost"), extra.get("argon2_memory_kib"))


def _audit(
    app: Carecall,
    session: object,
    actor: str,
    action: str,
    *,
    tenant_id: uuid.UUID | None,
    resource_type: str = "user",
    resource_id: str | None = None,
    severity: str = "info",
    **details: DetailValue,
) -> None:
    append(
        session,  # type: ignore[arg-type]
        AuditEvent(
            actor=actor,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            tenant_id=tenant_id,
            severity="high" if severity == "high" else "info",
            details=dict(details),
        ),
        app.clock,
    )


# --- users ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Enrolment:
    """A user waiting to enrol and the one-time token that lets them (shown once)."""

    user: User
    token: str
    expires_at: datetime

    def link(self, base_url: str) -> str:
        base = (base_url or "https://127.0.0.1:8000").rstrip("/")
        return f"{base}/enrol#token={self.token}"


def _normal_username(username: str) -> str:
    name = username.strip().lower()
    if not 3 <= len(name) <= 120 or any(c.isspace() for c in name) or not name.isprintable():
        raise InvalidInput("A username is 3 to 120 printable characters without spaces.")
    return name


def _role(role: str, tenant_id: uuid.UUID | None) -> Role:
    try:
        value = Role(role)
    except ValueError:
        raise InvalidInput(
            "Unknown role; use one of " + ", ".join(r.value for r in Role) + "."
        ) from None
    if (value in PLATFORM_ROLES) != (tenant_id is None):
        raise InvalidInput("platform_admin users have no tenant; every other role needs one.")
    return value


def _new_enrolment(app: Carecall, store: AccessStore, user: User) -> Enrolment:
    token = tokens.new_token()
    now = app.clock.now()
    store.insert_enrolment(user.id, tokens.digest(token), now, now + ENROLMENT_LIFETIME)
    return Enrolment(user, token, now + ENROLMENT_LIFETIME)


def add_user(
    app: Carecall,
    principal: Principal,
    *,
    username: str,
    role: str,
    tenant_id: uuid.UUID | None,
) -> Enrolment:
    """Create a user who sets their own password and TOTP with the returned token."""
    authorize(app, principal, Action.USERS_WRITE, tenant_id)
    value = _role(role, tenant_id)
    if tenant_id is None and principal.kind != "system" and Role.PLATFORM_ADMIN.value not in (
        principal.roles
    ):
        raise NotFound("No tenant with that id.")
    user = User(id=new_id(), tenant_id=tenant_id, username=_normal_username(username),
                role=value.value)
    try:
        with app.db.transaction() as session:
            if tenant_id is not None and TenantStore(session).get(tenant_id) is None:
                raise NotFound("No tenant with that id.")
            store = AccessStore(session)
            store.insert_user(user, app.clock.now())
            enrolment = _new_enrolment(app, store, user)
            _audit(app, session, principal.actor, "user.create", tenant_id=tenant_id,
                   resource_id=str(user.id), role=value.value)
    except IntegrityError:
        raise Conflict("That username is taken; choose another.") from None
    return enrolment


def bootstrap_admin(app: Carecall, principal: Principal, username: str) -> Enrolment:
    """The first platform administrator; refused once any user exists."""
    with app.db.transaction() as session:
        if AccessStore(session).count_users():
            raise Conflict("Users already exist; an administrator adds more with 'users add'.")
    return add_user(app, principal, username=username, role=Role.PLATFORM_ADMIN.value,
                    tenant_id=None)


def reissue_enrolment(app: Carecall, principal: Principal, user_id: uuid.UUID) -> Enrolment:
    """A new enrolment token (lost phone, forgotten password): clears password and TOTP and
    ends the user's sessions."""
    with app.db.transaction() as session:
        user = AccessStore(session).user(user_id)
    if user is None:
        raise NotFound("No user with that id.")
    authorize(app, principal, Action.USERS_WRITE, user.tenant_id)
    with app.db.transaction() as session:
        store = AccessStore(session)
        now = app.clock.now()
        store.update_user(user.id, password_hash=None, totp_secret=None, totp_confirmed_at=None,
                          totp_last_step=None, failed_logins=0, locked_until=None)
        store.replace_recovery_codes(user.id, [])
        store.revoke_sessions(user.id, now)
        enrolment = _new_enrolment(app, store, user)
        _audit(app, session, principal.actor, "user.reset", tenant_id=user.tenant_id,
               resource_id=str(user.id))
    return enrolment


def list_users(app: Carecall, principal: Principal, tenant_id: uuid.UUID | None) -> list[User]:
    authorize(app, principal, Action.USERS_READ, tenant_id)
    with app.db.transaction() as session:
        found = AccessStore(session).users_of(tenant_id)
    return [u for u in found if _visible(principal, u)]


def _platform(principal: Principal) -> bool:
    return principal.kind == "system" or Role.PLATFORM_ADMIN.value in principal.roles


def get_user(app: Carecall, principal: Principal, user_id: uuid.UUID) -> User:
    authorize(app, principal, Action.USERS_READ)
    with app.db.transaction() as session:
        user = AccessStore(session).user(user_id)
    if user is None or not _visible(principal, user):
        raise NotFound("No user with that id.")
    return user


def _visible(principal: Principal, user: User) -> bool:
    if user.tenant_id is None:
        return _platform(principal)
    return reaches_tenant(principal, user.tenant_id)


def disable_user(app: Carecall, principal: Principal, user_id: uuid.UUID) -> None:
    """Disable a login and end all its sessions at once (45 CFR 164.308(a)(3)(ii)(C))."""
    authorize(app, principal, Action.USERS_WRITE)
    with app.db.transaction() as session:
        store = AccessStore(session)
        user = store.user(user_id)
        if user is None or not _visible(principal, user):
            raise NotFound("No user with that id.")
        now = app.clock.now()
        store.update_user(user_id, disabled_at=now)
        ended = store.revoke_sessions(user_id, now)
        _audit(app, session, principal.actor, "user.disable", tenant_id=user.tenant_id,
               resource_id=str(user_id), sessions_ended=ended)


def record_training(
    app: Carecall, principal: Principal, user_id: uuid.UUID, completed_on: date,
    course: str = "hipaa-privacy-security",
) -> None:
    """A minimal HIPAA training record (45 CFR 164.530(b), 164.308(a)(5))."""
    authorize(app, principal, Action.TRAINING_WRITE)
    if completed_on > app.clock.now().date():
        raise InvalidInput("A training completion date cannot be in the future.")
    course = course.strip()
    if not course or len(course) > 100:
        raise InvalidInput("Name the course in at most 100 characters.")
    with app.db.transaction() as session:
        store = AccessStore(session)
        user = store.user(user_id)
        if user is None or not _visible(principal, user):
            raise NotFound("No user with that id.")
        store.add_training(user_id, course, completed_on, principal.actor, app.clock.now())
        _audit(app, session, principal.actor, "training.record", tenant_id=user.tenant_id,
               resource_id=str(user_id))


# --- login and MFA -------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginResult:
    """A new session: the token and CSRF token go to the browser, nowhere else."""

    token: str
    csrf: str
    stage: str
    totp_enrolled: bool


@dataclass(frozen=True)
class TotpSetup:
    secret: str
    uri: str
    qr: str


def _open_session(app: Carecall, store: AccessStore, user: User, stage: str) -> LoginResult:
    now = app.clock.now()
    idle_minutes: int | None = None
    if user.tenant_id is not None:
        tenant = TenantStore(store.session).get(user.tenant_id)
        idle_minutes = tenant.session_idle_minutes if tenant else None
    token, csrf = tokens.new_token(), tokens.new_token()
    record = SessionRecord(
        id=new_id(),
        user_id=user.id,
        csrf_hash=tokens.digest(csrf),
        stage="full" if stage == "full" else "mfa",
        created_at=now,
        last_seen_at=now,
        idle_seconds=int(idle_limit(idle_minutes).total_seconds()),
    )
    store.insert_session(record, tokens.digest(token))
    return LoginResult(token, csrf, record.stage, user.totp_confirmed_at is not None)


def _fail(app: Carecall, user: User | None, action: str, reason: str) -> AuthFailed:
    """Count a failure against the user (locking on the fifth) and audit it."""
    now = app.clock.now()
    actor = f"user:{user.id}" if user else "anonymous"
    tenant_id = user.tenant_id if user else None
    lock = None
    if user is not None:
        with app.db.transaction() as session:
            failures, lock = after_failure(user.failed_logins, now)
            AccessStore(session).update_user(
                user.id, failed_logins=failures,
                **({"locked_until": lock} if lock is not None else {}),
            )
    security_event(app, actor, action, tenant_id=tenant_id, resource_type="user",
                   resource_id=str(user.id) if user else None, reason=reason)
    if lock is not None:
        security_event(app, actor, "auth.lockout", tenant_id=tenant_id, resource_type="user",
                       resource_id=str(user.id) if user else None, severity="high",
                       minutes=15)
    return AuthFailed(AUTH_FAILED_MESSAGE)


def login(app: Carecall, username: str, password: str) -> LoginResult:
    """Check the password; on success open a session that still needs the TOTP code."""
    ph = password_hasher(app)
    with app.db.transaction() as session:
        user = AccessStore(session).user_by_name(username.strip().lower())
    now = app.clock.now()
    if user is None:
        verify_secret(ph, None, password)
        raise _fail(app, None, "auth.login_failed", "unknown_user")
    if user.disabled_at is not None or locked(user.locked_until, now):
        verify_secret(ph, None, password)
        security_event(app, f"user:{user.id}", "auth.login_refused", tenant_id=user.tenant_id,
                       resource_type="user", resource_id=str(user.id),
                       reason="disabled" if user.disabled_at else "locked")
        raise AuthFailed(AUTH_FAILED_MESSAGE)
    if not verify_secret(ph, user.password_hash, password):
        raise _fail(app, user, "auth.login_failed", "bad_password")
    with app.db.transaction() as session:
        result = _open_session(app, AccessStore(session), user, "mfa")
        _audit(app, session, f"user:{user.id}", "auth.password_ok", tenant_id=user.tenant_id,
               resource_id=str(user.id))
    return result


def enrol(app: Carecall, token: str, password: str) -> LoginResult:
    """Redeem an enrolment token: set the password, then TOTP enrolment follows."""
    check_policy(password)
    ph = password_hasher(app)
    with app.db.transaction() as session:
        store = AccessStore(session)
        user_id = store.take_enrolment(tokens.digest(token), app.clock.now())
        user = store.user(user_id) if user_id else None
        if user is not None and user.disabled_at is None:
            store.update_user(user.id, password_hash=hash_secret(ph, password),
                              totp_secret=None, totp_confirmed_at=None, totp_last_step=None)
            result = _open_session(app, store, user, "mfa")
            _audit(app, session, f"user:{user.id}", "auth.enrol", tenant_id=user.tenant_id,
                   resource_id=str(user.id))
            return result
    security_event(app, "anonymous", "auth.enrol_failed", reason="bad_token")
    raise AuthFailed("That enrolment link is unknown, used or expired; ask for a new one.")


def _pending(app: Carecall, token: str) -> tuple[SessionRecord, User]:
    with app.db.transaction() as session:
        store = AccessStore(session)
        record = store.session_by_token(tokens.digest(token))
        user = store.user(record.user_id) if record else None
    if record is None or user is None:
        raise AuthRequired("Log in first.")
    decision = session_valid(
        created_at=record.created_at, last_seen_at=record.last_seen_at,
        idle=MFA_PENDING_LIFETIME, revoked=record.revoked_at is not None,
        now=app.clock.now(), absolute=MFA_PENDING_LIFETIME,
    )
    if not decision or record.stage != "mfa" or user.disabled_at is not None:
        raise SessionExpired("Your login has expired; log in again.")
    return record, user


def start_totp(app: Carecall, token: str) -> TotpSetup:
    """A fresh TOTP secret for a user who has not confirmed one yet (otpauth URI + QR)."""
    _, user = _pending(app, token)
    if user.totp_confirmed_at is not None:
        raise Conflict("TOTP is already set up; enter a code from your authenticator.")
    secret = totp.new_secret()
    wrapped = app.key_provider.wrap(secret.encode(), _totp_context(user.id))
    with app.db.transaction() as session:
        AccessStore(session).update_user(user.id, totp_secret=wrapped, totp_last_step=None)
    uri = totp.provisioning_uri(secret, user.username)
    return TotpSetup(secret=secret, uri=uri, qr=totp.qr_data_uri(uri))


def _totp_context(user_id: uuid.UUID) -> dict[str, str]:
    return {"purpose": "totp", "user_id": str(user_id)}


@dataclass(frozen=True)
class MfaResult:
    session: LoginResult
    #: Shown once, when TOTP enrolment completes.
    recovery_codes: list[str]


def verify_mfa(
    app: Carecall, token: str, code: str | None = None, recovery_code: str | None = None
) -> MfaResult:
    """Second factor: a fresh TOTP code (never one already used) or an unused recovery
    code. Success replaces the pending session with a full one (a new token, so a token
    seen before login is worthless after it)."""
    record, user = _pending(app, token)
    now = app.clock.now()
    if locked(user.locked_until, now):
        raise AuthFailed(AUTH_FAILED_MESSAGE)
    if user.totp_secret is None:
        raise MfaRequired("Set up your authenticator first (POST /api/v1/auth/mfa/enrol).")
    first = user.totp_confirmed_at is None
    step: int | None = None
    used_recovery: uuid.UUID | None = None
    if code:
        secret = app.key_provider.unwrap(user.totp_secret, _totp_context(user.id)).decode()
        step = totp.matching_step(secret, code, now)
        if step is None:
            raise _fail(app, user, "auth.mfa_failed", "bad_code")
        if not totp.fresh(step, user.totp_last_step):
            raise _fail(app, user, "auth.totp_replay", "replayed_code")
    elif recovery_code and not first:
        ph = password_hasher(app)
        with app.db.transaction() as session:
            unused = AccessStore(session).unused_recovery_codes(user.id)
        normal = totp.normalise_recovery(recovery_code)
        used_recovery = next((cid for cid, h in unused if verify_secret(ph, h, normal)), None)
        if used_recovery is None:
            raise _fail(app, user, "auth.mfa_failed", "bad_recovery_code")
    else:
        raise InvalidInput("Give the 6-digit code from your authenticator.")
    codes: list[str] = []
    with app.db.transaction() as session:
        store = AccessStore(session)
        if used_recovery is not None and not store.use_recovery_code(used_recovery, now):
            raise AuthFailed(AUTH_FAILED_MESSAGE)
        changes: dict[str, object] = {"failed_logins": 0, "locked_until": None}
        if step is not None:
            changes["totp_last_step"] = step
        if first:
            changes["totp_confirmed_at"] = now
            codes = totp.new_recovery_codes()
            ph = password_hasher(app)
            store.replace_recovery_codes(user.id, [hash_secret(ph, c) for c in codes])
        store.update_user(user.id, **changes)
        store.update_session(record.id, revoked_at=now)
        if first:
            user = dataclasses.replace(user, totp_confirmed_at=now)
        result = _open_session(app, store, user, "full")
        _audit(app, session, f"user:{user.id}", "auth.login", tenant_id=user.tenant_id,
               resource_id=str(user.id), factor="recovery_code" if used_recovery else "totp",
               mfa_enrolled=first)
    return MfaResult(result, codes)


# --- sessions ------------------------------------------------------------------------------


def authenticate(
    app: Carecall, token: str, *, csrf: str | None = None, state_changing: bool = False
) -> Principal:
    """The principal behind a session cookie, or an error: automatic logoff after the
    idle limit or 12 hours (45 CFR 164.312(a)(2)(iii)); CSRF checked for state changes."""
    now = app.clock.now()
    with app.db.transaction() as session:
        store = AccessStore(session)
        record = store.session_by_token(tokens.digest(token))
        user = store.user(record.user_id) if record else None
    if record is None or user is None:
        raise AuthRequired("Log in first.")
    decision = session_valid(
        created_at=record.created_at, last_seen_at=record.last_seen_at,
        idle=timedelta(seconds=record.idle_seconds), revoked=record.revoked_at is not None,
        now=now, absolute=ABSOLUTE_LIFETIME if record.stage == "full" else MFA_PENDING_LIFETIME,
    )
    if not decision:
        if record.revoked_at is None:
            with app.db.transaction() as session:
                AccessStore(session).update_session(record.id, revoked_at=now)
                _audit(app, session, f"user:{user.id}", "session.expired",
                       tenant_id=user.tenant_id, resource_type="session",
                       resource_id=str(record.id), reason=decision.codes[0])
        raise SessionExpired("Your session has ended; log in again.")
    if record.stage != "full":
        raise MfaRequired("Enter the code from your authenticator to finish logging in.")
    if user.disabled_at is not None:
        raise AuthRequired("Log in first.")
    if state_changing and (csrf is None or not tokens.matches(csrf, record.csrf_hash)):
        security_event(app, f"user:{user.id}", "auth.csrf_failed", tenant_id=user.tenant_id,
                       resource_type="session", resource_id=str(record.id))
        raise CsrfFailed("Missing or wrong X-CSRF-Token header; reload and try again.")
    with app.db.transaction() as session:
        store = AccessStore(session)
        store.update_session(record.id, last_seen_at=now)
        trained = store.last_training(user.id)
    return Principal(
        kind="user",
        id=str(user.id),
        tenant_id=user.tenant_id,
        roles=frozenset({user.role}),
        training_valid_until=None if trained is None
        else datetime.combine(trained, time(), UTC) + TRAINING_VALIDITY,
        elevated_until=record.elevated_until,
        session_id=str(record.id),
    )


def logout(app: Carecall, token: str) -> None:
    with app.db.transaction() as session:
        store = AccessStore(session)
        record = store.session_by_token(tokens.digest(token))
        if record is None or record.revoked_at is not None:
            return
        store.update_session(record.id, revoked_at=app.clock.now())
        _audit(app, session, f"user:{record.user_id}", "auth.logout", tenant_id=None,
               resource_type="session", resource_id=str(record.id))


def logout_everywhere(app: Carecall, principal: Principal) -> int:
    if principal.kind != "user":
        raise InvalidInput("Only a user session can log out everywhere.")
    with app.db.transaction() as session:
        ended = AccessStore(session).revoke_sessions(uuid.UUID(principal.id), app.clock.now())
        _audit(app, session, principal.actor, "auth.logout_all", tenant_id=principal.tenant_id,
               resource_id=principal.id, sessions_ended=ended)
    return ended


def break_glass(
    app: Carecall, principal: Principal, reason: BreakGlassReason, minutes: int = 30
) -> datetime:
    """Emergency access (45 CFR 164.312(a)(2)(ii)): for at most an hour this session may
    search, read and reveal any patient of its tenant beyond its role's ceiling. A
    high-severity audit entry is written and every privacy officer of the tenant notified."""
    authorize(app, principal, Action.BREAK_GLASS)
    if principal.session_id is None or principal.tenant_id is None:
        raise InvalidInput("Break-glass needs a logged-in user of a practice.")
    if not 1 <= minutes <= BREAK_GLASS_MAX.total_seconds() // 60:
        raise InvalidInput("Break-glass lasts 1 to 60 minutes.")
    until = app.clock.now() + timedelta(minutes=minutes)
    with app.db.transaction() as session:
        store = AccessStore(session)
        store.update_session(uuid.UUID(principal.session_id), elevated_until=until,
                             elevation_reason=reason.value)
        _audit(app, session, principal.actor, "access.break_glass",
               tenant_id=principal.tenant_id, resource_type="session",
               resource_id=principal.session_id, severity="high", reason=reason.value,
               minutes=minutes)
        for officer in store.privacy_officers(principal.tenant_id):
            store.notify(principal.tenant_id, officer, "break_glass", "user", principal.id,
                         app.clock.now())
    return until


@dataclass(frozen=True)
class Notification:
    """A notice for one user (e.g. ``break_glass``: a colleague elevated; ``resource_id`` is
    that colleague's user id). Ids and codes only, never PHI."""

    id: uuid.UUID
    kind: str
    resource_type: str
    resource_id: str | None
    created_at: datetime
    read_at: datetime | None


def my_notifications(app: Carecall, principal: Principal) -> list[Notification]:
    """The calling user's own notifications, oldest first; reading them is audited (a
    privacy officer's proof of having been told of each break-glass)."""
    if principal.kind != "user":
        raise InvalidInput("Only a user has notifications.")
    user_id = uuid.UUID(principal.id)
    with app.db.transaction() as session:
        rows = AccessStore(session).notifications_for(user_id)
        _audit(app, session, principal.actor, "notification.list",
               tenant_id=principal.tenant_id, resource_id=principal.id, count=len(rows))
    return [Notification(id=r["id"], kind=r["kind"], resource_type=r["resource_type"],
                         resource_id=r["resource_id"], created_at=r["created_at"],
                         read_at=r["read_at"]) for r in rows]


def me(app: Carecall, principal: Principal) -> User | None:
    if principal.kind != "user":
        return None
    with app.db.transaction() as session:
        return AccessStore(session).user(uuid.UUID(principal.id))

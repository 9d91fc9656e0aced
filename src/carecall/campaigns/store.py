"""Campaign tables and their repository: campaigns, planned targets and attempts.

No PHI is stored here: targets are patient ids, the number is a slot in the patient's
(encrypted) phone list plus a keyed tag, and reasons are codes. An attempt row is also the
idempotency record for its provider request: it is set to ``dialing`` and committed before
the REST call, so a worker that dies in between leaves a trace that recovery reconciles.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from carecall.campaigns.model import (
    Attempt,
    AttemptStatus,
    Campaign,
    CampaignSpec,
    CampaignState,
    Channel,
    Outcome,
    RetryRule,
    Target,
    TargetKind,
    TargetRule,
    TargetState,
    Window,
)
from carecall.store.schema import UtcDateTime, metadata
from carecall.tenants.model import Purpose

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column(
        "tenant_id", Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("label", String(80), nullable=False),
    Column("purpose", String(40), nullable=False),
    Column("channel", String(30), nullable=False),
    Column("template", Text, nullable=False),
    Column("max_duration_s", Integer, nullable=False),
    # {"kind": ..., "patient_ids": [...], "hours_from": .., "hours_to": ..}: ids, no PHI.
    Column("target_rule", JSON, nullable=False),
    Column("window_start", UtcDateTime, nullable=True),
    Column("window_end", UtcDateTime, nullable=True),
    Column("max_attempts", Integer, nullable=False),
    Column("retry_delay_minutes", Integer, nullable=False),
    Column("retry_on", JSON, nullable=False),
    Column("state", String(20), nullable=False),
    Column("created_by", String(120), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("planned_at", UtcDateTime, nullable=True),
    Column("started_at", UtcDateTime, nullable=True),
    Column("finished_at", UtcDateTime, nullable=True),
)

campaign_targets = Table(
    "campaign_targets",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column(
        "campaign_id",
        Uuid,
        ForeignKey("campaigns.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("tenant_id", Uuid, nullable=False),
    Column("patient_id", Uuid, nullable=False),
    Column("appointment_id", Uuid, nullable=True),
    Column("state", String(20), nullable=False),
    # The policy's reason codes, comma-separated (plan time; dial-time ones are on attempts).
    Column("reasons", String(400), nullable=False),
    Column("retry_after", UtcDateTime, nullable=True),
    Column("phone_slot", Integer, nullable=False),
    Column("number_tag", String(32), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("outcome", String(20), nullable=True),
    Column("decided_at", UtcDateTime, nullable=False),
    Index("ix_campaign_targets_campaign_state", "campaign_id", "state"),
)

campaign_attempts = Table(
    "campaign_attempts",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column(
        "campaign_id",
        Uuid,
        ForeignKey("campaigns.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column(
        "target_id",
        Uuid,
        ForeignKey("campaign_targets.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("tenant_id", Uuid, nullable=False),
    Column("number", Integer, nullable=False),
    Column("channel", String(10), nullable=False),
    Column("status", String(20), nullable=False),
    Column("not_before", UtcDateTime, nullable=True),
    Column("reasons", String(400), nullable=False),
    Column("dial_started_at", UtcDateTime, nullable=True),
    Column("placed_at", UtcDateTime, nullable=True),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("provider_sid", String(64), nullable=True, index=True),
    Column("outcome", String(20), nullable=True),
    # True when the sid was found on the provider's call list after a worker died.
    Column("reconciled", Boolean, nullable=False),
    # Each hand-over to the job engine runs under the job id "<attempt id>.<generation>"; a
    # pause bumps the generation so the resumed attempt is a new job. ``enqueued``: the
    # current generation has been handed over (a sweep hands over the rest).
    Column("generation", Integer, nullable=False),
    Column("enqueued", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("target_id", "number", "channel", name="uq_campaign_attempts_target_number"),
    Index("ix_campaign_attempts_campaign_status", "campaign_id", "status"),
)


def _codes(reasons: Iterable[str]) -> str:
    return ",".join(reasons)


def _split(text: str) -> tuple[str, ...]:
    return tuple(code for code in text.split(",") if code)


def _campaign(row: Any) -> Campaign:
    r = row._mapping
    rule = r["target_rule"]
    spec = CampaignSpec(
        purpose=Purpose(r["purpose"]),
        channel=Channel(r["channel"]),
        template=r["template"],
        targets=TargetRule(
            kind=TargetKind(rule["kind"]),
            patient_ids=tuple(uuid.UUID(p) for p in rule.get("patient_ids", [])),
            hours_from=float(rule.get("hours_from", 24.0)),
            hours_to=float(rule.get("hours_to", 48.0)),
        ),
        window=Window(start=r["window_start"], end=r["window_end"]),
        retry=RetryRule(
            max_attempts=r["max_attempts"],
            delay_minutes=r["retry_delay_minutes"],
            on=frozenset(Outcome(o) for o in r["retry_on"]),
        ),
        label=r["label"],
        max_duration_s=r["max_duration_s"],
    )
    return Campaign(
        id=r["id"],
        tenant_id=r["tenant_id"],
        spec=spec,
        state=CampaignState(r["state"]),
        created_by=r["created_by"],
        created_at=r["created_at"],
        planned_at=r["planned_at"],
        started_at=r["started_at"],
        finished_at=r["finished_at"],
    )


def _target(row: Any) -> Target:
    r = row._mapping
    return Target(
        id=r["id"],
        campaign_id=r["campaign_id"],
        patient_id=r["patient_id"],
        appointment_id=r["appointment_id"],
        state=TargetState(r["state"]),
        reasons=_split(r["reasons"]),
        retry_after=r["retry_after"],
        phone_slot=r["phone_slot"],
        number_tag=r["number_tag"],
        attempts=r["attempts"],
        outcome=Outcome(r["outcome"]) if r["outcome"] else None,
    )


def _attempt(row: Any) -> Attempt:
    r = row._mapping
    return Attempt(
        id=r["id"],
        campaign_id=r["campaign_id"],
        target_id=r["target_id"],
        number=r["number"],
        channel=Channel(r["channel"]),
        status=AttemptStatus(r["status"]),
        not_before=r["not_before"],
        dial_started_at=r["dial_started_at"],
        provider_sid=r["provider_sid"],
        outcome=Outcome(r["outcome"]) if r["outcome"] else None,
        reasons=_split(r["reasons"]),
        reconciled=r["reconciled"],
        generation=r["generation"],
    )


class CampaignStore:
    """Reads and writes one tenant's campaigns; every query is scoped to the tenant."""

    def __init__(self, session: Session, tenant_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id

    # -- campaigns -----------------------------------------------------------------------

    def insert(self, campaign: Campaign) -> None:
        spec = campaign.spec
        rule = spec.targets
        self.session.execute(
            insert(campaigns).values(
                id=campaign.id,
                tenant_id=self.tenant_id,
                label=spec.label,
                purpose=str(spec.purpose),
                channel=str(spec.channel),
                template=spec.template,
                max_duration_s=spec.max_duration_s,
                target_rule={
                    "kind": str(rule.kind),
                    "patient_ids": [str(p) for p in rule.patient_ids],
                    "hours_from": rule.hours_from,
                    "hours_to": rule.hours_to,
                },
                window_start=spec.window.start,
                window_end=spec.window.end,
                max_attempts=spec.retry.max_attempts,
                retry_delay_minutes=spec.retry.delay_minutes,
                retry_on=sorted(str(o) for o in spec.retry.on),
                state=str(campaign.state),
                created_by=campaign.created_by,
                created_at=campaign.created_at,
            )
        )

    def get(self, campaign_id: uuid.UUID, *, lock: bool = False) -> Campaign | None:
        query = select(campaigns).where(
            campaigns.c.id == campaign_id, campaigns.c.tenant_id == self.tenant_id
        )
        if lock:
            query = query.with_for_update()
        row = self.session.execute(query).first()
        return None if row is None else _campaign(row)

    def all(self) -> list[Campaign]:
        rows = self.session.execute(
            select(campaigns)
            .where(campaigns.c.tenant_id == self.tenant_id)
            .order_by(campaigns.c.created_at)
        ).all()
        return [_campaign(r) for r in rows]

    def set_state(self, campaign_id: uuid.UUID, state: CampaignState, **stamps: datetime) -> None:
        self.session.execute(
            update(campaigns)
            .where(campaigns.c.id == campaign_id, campaigns.c.tenant_id == self.tenant_id)
            .values(state=str(state), **stamps)
        )

    # -- targets -------------------------------------------------------------------------

    def clear_targets(self, campaign_id: uuid.UUID) -> None:
        from sqlalchemy import delete

        self.session.execute(
            delete(campaign_targets).where(campaign_targets.c.campaign_id == campaign_id)
        )

    def add_targets(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert planned targets in one batch (plan time, thousands at once): ``COPY`` on
        PostgreSQL, as the audit store does, else one ``executemany``."""
        if not rows:
            return
        conn = self.session.connection()
        if conn.dialect.name != "postgresql":
            self.session.execute(insert(campaign_targets), list(rows))
            return
        names = [c.name for c in campaign_targets.c]
        sql = f"COPY campaign_targets ({', '.join(names)}) FROM STDIN"
        dbapi = conn.dialect.loaded_dbapi
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            with cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row([row[n] for n in names])
        except dbapi.Error as exc:
            # Keep the unit of work's error handling (StoreUnavailable and friends) working.
            raise DBAPIError.instance(sql, None, exc, dbapi.Error) from exc
        finally:
            cursor.close()

    def target(self, target_id: uuid.UUID) -> Target | None:
        row = self.session.execute(
            select(campaign_targets).where(
                campaign_targets.c.id == target_id,
                campaign_targets.c.tenant_id == self.tenant_id,
            )
        ).first()
        return None if row is None else _target(row)

    def targets(self, campaign_id: uuid.UUID, state: TargetState | None = None) -> list[Target]:
        query = select(campaign_targets).where(
            campaign_targets.c.campaign_id == campaign_id,
            campaign_targets.c.tenant_id == self.tenant_id,
        )
        if state is not None:
            query = query.where(campaign_targets.c.state == str(state))
        rows = self.session.execute(query.order_by(campaign_targets.c.id)).all()
        return [_target(r) for r in rows]

    def update_target(self, target_id: uuid.UUID, **values: Any) -> None:
        self.session.execute(
            update(campaign_targets)
            .where(
                campaign_targets.c.id == target_id,
                campaign_targets.c.tenant_id == self.tenant_id,
            )
            .values(**values)
        )

    def set_targets_state(
        self, campaign_id: uuid.UUID, old: TargetState, new: TargetState, **values: Any
    ) -> int:
        result = self.session.execute(
            update(campaign_targets)
            .where(
                campaign_targets.c.campaign_id == campaign_id,
                campaign_targets.c.tenant_id == self.tenant_id,
                campaign_targets.c.state == str(old),
            )
            .values(state=str(new), **values)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def _tally(self, table: Table, column: str, campaign_id: uuid.UUID) -> list[Any]:
        """(value, count) of one column over one campaign's rows of this tenant, skipping
        rows where it is empty (NULL, or no reason codes)."""
        col = table.c[column]
        return list(self.session.execute(
            select(col, func.count())
            .where(
                table.c.campaign_id == campaign_id,
                table.c.tenant_id == self.tenant_id,
                col.is_not(None),
                col != "",
            )
            .group_by(col)
        ).all())

    def count_targets(self, campaign_id: uuid.UUID) -> dict[str, int]:
        return {r[0]: int(r[1]) for r in self._tally(campaign_targets, "state", campaign_id)}

    def reason_counts(self, campaign_id: uuid.UUID) -> dict[str, int]:
        return _explode(self._tally(campaign_targets, "reasons", campaign_id))

    # -- attempts ------------------------------------------------------------------------

    def add_attempts(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            self.session.execute(insert(campaign_attempts), list(rows))

    def attempt(self, attempt_id: uuid.UUID, *, lock: bool = False) -> Attempt | None:
        query = select(campaign_attempts).where(
            campaign_attempts.c.id == attempt_id,
            campaign_attempts.c.tenant_id == self.tenant_id,
        )
        if lock:
            query = query.with_for_update()
        row = self.session.execute(query).first()
        return None if row is None else _attempt(row)

    def attempts(
        self, campaign_id: uuid.UUID, statuses: Iterable[AttemptStatus] | None = None
    ) -> list[Attempt]:
        query = select(campaign_attempts).where(
            campaign_attempts.c.campaign_id == campaign_id,
            campaign_attempts.c.tenant_id == self.tenant_id,
        )
        if statuses is not None:
            query = query.where(campaign_attempts.c.status.in_([str(s) for s in statuses]))
        rows = self.session.execute(query.order_by(campaign_attempts.c.id)).all()
        return [_attempt(r) for r in rows]

    def claim_attempt(
        self, attempt_id: uuid.UUID, old: AttemptStatus, new: AttemptStatus, **values: Any
    ) -> bool:
        """Move an attempt from ``old`` to ``new`` only if it is still ``old``: the
        compare-and-set that makes a repeated step a no-op."""
        result = self.session.execute(
            update(campaign_attempts)
            .where(
                campaign_attempts.c.id == attempt_id,
                campaign_attempts.c.tenant_id == self.tenant_id,
                campaign_attempts.c.status == str(old),
            )
            .values(status=str(new), **values)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def count_attempts(self, campaign_id: uuid.UUID) -> dict[str, int]:
        return {r[0]: int(r[1]) for r in self._tally(campaign_attempts, "status", campaign_id)}

    def count_outcomes(self, campaign_id: uuid.UUID) -> dict[str, int]:
        return {r[0]: int(r[1]) for r in self._tally(campaign_attempts, "outcome", campaign_id)}

    def dial_reason_counts(self, campaign_id: uuid.UUID) -> dict[str, int]:
        return _explode(self._tally(campaign_attempts, "reasons", campaign_id))

    def placed_and_reconciled(self, campaign_id: uuid.UUID) -> tuple[int, int]:
        row = self.session.execute(
            select(
                func.count(campaign_attempts.c.provider_sid),
                func.count().filter(campaign_attempts.c.reconciled.is_(True)),
            ).where(
                campaign_attempts.c.campaign_id == campaign_id,
                campaign_attempts.c.tenant_id == self.tenant_id,
            )
        ).one()
        return int(row[0]), int(row[1])

    def by_provider_sid(self, sid: str, *, lock: bool = False) -> Attempt | None:
        query = select(campaign_attempts).where(
            campaign_attempts.c.provider_sid == sid,
            campaign_attempts.c.tenant_id == self.tenant_id,
        )
        row = self.session.execute(query.with_for_update() if lock else query).first()
        return None if row is None else _attempt(row)

    def set_outcome(self, attempt: Attempt, outcome: Outcome) -> bool:
        """Replace the attempt's outcome if neither its status nor its outcome changed since
        it was read (compare-and-set: of two concurrent callbacks one wins, the other
        reads again)."""
        old = campaign_attempts.c.outcome
        result = self.session.execute(
            update(campaign_attempts)
            .where(
                campaign_attempts.c.id == attempt.id,
                campaign_attempts.c.tenant_id == self.tenant_id,
                campaign_attempts.c.status == str(attempt.status),
                old.is_(None) if attempt.outcome is None else old == str(attempt.outcome),
            )
            .values(outcome=str(outcome))
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def is_latest_attempt(self, attempt: Attempt) -> bool:
        """No later attempt (retry, fallback) exists for the attempt's target."""
        later = self.session.execute(
            select(func.count()).where(
                campaign_attempts.c.target_id == attempt.target_id,
                campaign_attempts.c.tenant_id == self.tenant_id,
                campaign_attempts.c.number > attempt.number,
            )
        ).scalar_one()
        return int(later) == 0

    def last_text_to(self, tags: Sequence[str], since: datetime) -> str | None:
        """The provider sid of the latest campaign text that went out to a number (by its
        keyed tags) at or after ``since``, if any."""
        if not tags:
            return None
        sid: str | None = self.session.execute(
            select(campaign_attempts.c.provider_sid)
            .join(campaign_targets, campaign_targets.c.id == campaign_attempts.c.target_id)
            .where(
                campaign_targets.c.tenant_id == self.tenant_id,
                campaign_targets.c.number_tag.in_(list(tags)),
                campaign_attempts.c.tenant_id == self.tenant_id,
                campaign_attempts.c.channel == str(Channel.SMS),
                campaign_attempts.c.provider_sid.is_not(None),
                campaign_attempts.c.placed_at >= since,
            )
            .order_by(campaign_attempts.c.placed_at.desc(), campaign_attempts.c.id)
            .limit(1)
        ).scalar_one_or_none()
        return sid


def tenant_of_attempt(session: Session, attempt_id: uuid.UUID) -> uuid.UUID | None:
    """The tenant an attempt belongs to (a job payload carries only the attempt's id)."""
    found: uuid.UUID | None = session.execute(
        select(campaign_attempts.c.tenant_id).where(campaign_attempts.c.id == attempt_id)
    ).scalar_one_or_none()
    return found


def tenant_of_sid(session: Session, sid: str) -> uuid.UUID | None:
    found: uuid.UUID | None = session.execute(
        select(campaign_attempts.c.tenant_id).where(campaign_attempts.c.provider_sid == sid)
    ).scalar_one_or_none()
    return found


def _explode(rows: Iterable[Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for reasons, count in rows:
        for code in _split(reasons):
            counts[code] = counts.get(code, 0) + int(count)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def codes(reasons: Iterable[str]) -> str:
    return _codes(reasons)


# -- the sweep: system work across tenants (ids and states only) --------------------------


def attempts_to_hand_over(session: Session, limit: int) -> list[tuple[uuid.UUID, int, str, Any]]:
    """Queued attempts of running campaigns not yet handed to the job engine:
    (attempt id, generation, number tag, not before)."""
    rows = session.execute(
        select(
            campaign_attempts.c.id,
            campaign_attempts.c.generation,
            campaign_targets.c.number_tag,
            campaign_attempts.c.not_before,
        )
        .join(campaigns, campaigns.c.id == campaign_attempts.c.campaign_id)
        .join(campaign_targets, campaign_targets.c.id == campaign_attempts.c.target_id)
        .where(
            campaigns.c.state == str(CampaignState.RUNNING),
            campaign_attempts.c.status == str(AttemptStatus.QUEUED),
            campaign_attempts.c.enqueued.is_(False),
        )
        .order_by(campaign_attempts.c.not_before, campaign_attempts.c.id)
        .limit(limit)
    ).all()
    return [(r[0], int(r[1]), str(r[2]), r[3]) for r in rows]


def mark_handed_over(session: Session, attempt_id: uuid.UUID, generation: int) -> None:
    session.execute(
        update(campaign_attempts)
        .where(campaign_attempts.c.id == attempt_id, campaign_attempts.c.generation == generation)
        .values(enqueued=True)
    )


def running_campaigns(session: Session) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(tenant id, campaign id) of every running campaign."""
    rows = session.execute(
        select(campaigns.c.tenant_id, campaigns.c.id).where(
            campaigns.c.state == str(CampaignState.RUNNING)
        )
    ).all()
    return [(r[0], r[1]) for r in rows]


def open_work(session: Session, campaign_id: uuid.UUID) -> int:
    """Targets still waiting or in flight."""
    return int(
        session.execute(
            select(func.count()).where(
                campaign_targets.c.campaign_id == campaign_id,
                campaign_targets.c.state.in_(
                    [str(TargetState.ALLOWED), str(TargetState.IN_PROGRESS)]
                ),
            )
        ).scalar_one()
    )

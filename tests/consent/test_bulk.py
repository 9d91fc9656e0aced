"""``facts_for_many`` agrees with ``number_facts`` contact by contact."""

from __future__ import annotations

from datetime import timedelta

from tests.consent.helpers import PHONE, practice
from tests.patients.factories import SYSTEM, make_patient

from carecall.app import Carecall
from carecall.consent import service
from carecall.consent.bulk import facts_for_many, open_lists
from carecall.consent.model import OptOutSource
from carecall.core.clock import FixedClock
from carecall.patients.service import create_patient
from carecall.policy import Channel


def test_bulk_facts_match_one_by_one(carecall: Carecall, clock: FixedClock) -> None:
    p = practice(carecall)
    tid = p.tenant.id
    others = [create_patient(carecall, SYSTEM, tid, make_patient(first=f"Ann{i}",
                                                                    phone=f"+1617555030{i}"))
              for i in range(4)]
    service.record_opt_out(carecall, SYSTEM, tid, phone="+16175550300", channel=Channel.SMS,
                           source=OptOutSource.SMS_KEYWORD)
    service.record_opt_out(carecall, SYSTEM, tid, patient_id=others[1], channel=Channel.VOICE,
                           source=OptOutSource.CONSOLE)
    service.record_opt_out(carecall, SYSTEM, tid, phone="+16175550302", channel=Channel.SMS,
                           source=OptOutSource.SMS_KEYWORD)
    clock.advance(timedelta(minutes=1))
    service.record_opt_in(carecall, SYSTEM, tid, "+16175550302")
    service.dnc_add(carecall, SYSTEM, tid, "+16175550303")
    service.record_contact(carecall, SYSTEM, tid, patient_id=p.patient_id, channel=Channel.SMS,
                           purpose="appointment_reminder", outcome="sent")
    service.record_contact(carecall, SYSTEM, tid, patient_id=others[0], channel=Channel.SMS,
                           purpose="appointment_reminder", outcome="error")
    targets = [(p.patient_id, PHONE), (p.patient_id, "+16175550300"),
               *[(pid, f"+1617555030{i}") for i, pid in enumerate(others)]]
    now = carecall.clock.now()
    with carecall.db.transaction() as session:
        bulk = facts_for_many(session, carecall, tid, targets, now)
        single = [service.number_facts(session, carecall, tid, pid, phone, now)
                  for pid, phone in targets]
    assert bulk == single
    # The plan's way: the open lists read once, then each batch in its own transaction.
    with carecall.db.transaction() as session:
        lists = open_lists(session, tid, now)
    batched = []
    for start in (0, 3):
        with carecall.db.transaction() as session:
            batched += facts_for_many(session, carecall, tid, targets[start:start + 3], now,
                                      lists)
    assert batched == single
    assert [len(f.consents) for f in bulk] == [2, 0, 0, 0, 0, 0]
    assert [bool(f.opt_outs) for f in bulk] == [False, True, True, True, False, False]
    assert [f.on_internal_dnc for f in bulk] == [False, False, False, False, False, True]
    assert [len(f.history) for f in bulk] == [1, 1, 0, 0, 0, 0]

"""The disclosure guard: the second wall behind the engine's own logic.

Every utterance is checked before it is spoken against the facts of every patient this call
touched (candidates looked up during verification, the patient an outbound call asks for)
who is not the verified caller: names, dates of birth, phone numbers, addresses, appointment
times, balances, invoice numbers, prescription names, in the spoken forms the engine uses
(``speech``) and as the PHI detector reads them. A hit means the utterance is replaced by a
safe fallback and a high-severity security event is written (45 CFR 164.502(a): no use or
disclosure except as permitted; 164.308(a)(6): security incident procedures).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from carecall.calls.rules import name_matches
from carecall.calls.speech import say_date, say_money, say_phone, say_when
from carecall.calls.state import Watched
from carecall.patients.model import Patient
from carecall.phi.check import AllowList, find_identifiers
from carecall.phi.model import KnownIdentifiers, Label, Span
from carecall.phi.spoken import parse_date

FALLBACK = "I'm sorry, I can't share that information on this call."
_MIN_VALUE = 4


def facts_of(patient: Patient, timezone: str) -> Watched:
    """What the guard watches for one patient (PHI: kept only in the encrypted call state)."""
    values: list[str] = [patient.full_name, say_date(patient.dob)]
    if len(patient.last_name) >= _MIN_VALUE - 1:
        values.append(patient.last_name)
    values += [say_when(a.start, timezone) for a in patient.appointments]
    values += [say_money(i.balance) for i in patient.invoices]
    values += [i.number for i in patient.invoices]
    values += [p.name for p in patient.prescriptions]
    values += [a.provider for a in patient.appointments]
    values += [say_phone(p) for p in patient.phones]
    if patient.address is not None:
        values += [patient.address.line1]
    if patient.mrn:
        values.append(patient.mrn)
    if patient.email:
        values.append(patient.email)
    return Watched(
        names=[patient.full_name],
        values=[v for v in dict.fromkeys(values) if len(v) >= _MIN_VALUE - 1],
        dob=patient.dob.isoformat(),
        phones=list(patient.phones),
    )


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def leaks(
    text: str,
    watched: Mapping[str, Watched],
    *,
    verified: str | None,
    practice_name: str,
    practice_phones: tuple[str, ...],
) -> list[str]:
    """Ids of non-verified patients whose PHI ``text`` contains (empty: safe to speak)."""
    lowered = text.lower()
    mine = watched.get(verified) if verified else None
    shared = {v.lower() for v in mine.values} if mine else set()
    # The practice's own name may contain a surname ("Dr Patel Family Care").
    shared |= {v.lower() for f in watched.values() for v in f.values
               if v.lower() in practice_name.lower()}
    others = {pid: facts for pid, facts in watched.items() if pid != verified}
    if not others:
        return []
    # One detector pass for everyone watched; each span is then attributed by value.
    allow = AllowList(practice_name=practice_name, practice_phones=practice_phones)
    known = KnownIdentifiers(names=[n for f in others.values() for n in f.names],
                             phones=[p for f in others.values() for p in f.phones])
    spans = find_identifiers(text, known, allow)
    return [pid for pid, facts in others.items()
            if _leaks_one(text, lowered, facts, shared, spans)]


def _leaks_one(
    text: str,
    lowered: str,
    facts: Watched,
    shared: set[str],
    spans: list[Span],
) -> bool:
    for value in facts.values:
        v = value.lower()
        if v in shared:
            continue
        if re.search(rf"(?<![a-z0-9]){re.escape(v)}(?![a-z0-9])", lowered):
            return True
    if any(name_matches(text, *_split(n)) for n in facts.names if n.lower() not in shared):
        return True
    for span in spans:
        if span.label is Label.PHONE and any(
            _digits(span.text)[-10:] == _digits(p)[-10:] for p in facts.phones
        ):
            return True
        if span.label is Label.DATE and facts.dob:
            for said, _, _ in parse_date(span.text):
                day = said.as_date()
                if day is not None and day.isoformat() == facts.dob:
                    return True
    return False


def _split(full_name: str) -> tuple[str, str]:
    first, _, last = full_name.partition(" ")
    return first, last

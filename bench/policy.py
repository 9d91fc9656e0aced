"""Benchmark: outbound policy decisions per second, the policy alone (no database).

Run: .venv/bin/python bench/policy.py [--contacts 20000] [--seed 6]   (or `make bench-policy`)

A realistic campaign mix, built once before timing: 55% automated texts, 40% automated calls,
5% calls placed by hand; 70% of patients with a zone on record (six US zones), 30% without
(the number's zones, including two-zone area codes 208 and 907); 0-4 past contacts in the last
nine days; mostly valid written consent, a few revoked, verbal or missing; 3% opted out, 1% on
the DNC list; 'now' spread over a winter and a summer week, all hours. Message texts come from
four templates and 48 appointment slots and name the practice; 500 distinct patients' names.

Measures, on one core, best of ``--repeat`` runs:
- ``decide``, cold: every cache cleared first, one pass (a campaign planned from scratch);
- ``decide``, warm: a second pass (the dial-time re-check of the same contacts);
- ``decide`` without content rules (the same mix with every message placed by hand): the
  time, limit, consent and list rules alone;
- the content identifier check alone, uncached (the PHI detector over one text);
- ``sms_length.measure`` alone.
Prints a markdown table with the date and machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from carecall.phi.check import AllowList, find_identifiers
from carecall.policy import content, hours
from carecall.policy.model import (
    Channel,
    Consent,
    ConsentForm,
    ConsentKind,
    ContactFacts,
    LineType,
    Message,
    OptOut,
    PastContact,
    PatientFacts,
    PolicyRequest,
    TenantFacts,
)
from carecall.policy.rules import decide
from carecall.policy.sms_length import measure

PRACTICE = "Riverside Family Practice"
PHONE = "+15035550100"
ZONED = [("212", "America/New_York"), ("312", "America/Chicago"), ("303", "America/Denver"),
         ("602", "America/Phoenix"), ("503", "America/Los_Angeles"),
         ("907", "America/Anchorage")]
UNZONED = ["212", "615", "208", "907", "503", "305", "702", "404"]
FIRST = ["Maria", "James", "Aisha", "Wei", "Olivia", "Mateo", "Priya", "Noah", "Fatima",
         "Liam", "Sofia", "Ethan", "Amara", "Lucas", "Hana", "Diego", "Zoe", "Omar", "Ivy",
         "Kofi"]
LAST = ["Gonzalez", "Smith", "Khan", "Chen", "Johnson", "Rossi", "Patel", "Okafor", "Silva",
        "Nguyen", "Brown", "Garcia", "Kim", "Murphy", "Novak", "Haddad", "Lopez", "Ito",
        "Mensah", "Fischer", "Adams", "Baker", "Clark", "Davis", "Evans"]
SMS_TEMPLATES = [
    f"{PRACTICE}: reminder of your appointment {{day}} at {{time}}. Call 503-555-0100 to "
    "change it. Reply STOP to opt out.",
    f"{PRACTICE}: see you {{day}} at {{time}}. Reply C to confirm or STOP to opt out.",
]
VOICE_TEMPLATES = [
    f"Hello, this is {PRACTICE} with a reminder about your appointment on {{day}} at {{time}}. "
    "To confirm, press 1. To stop these calls, say stop or press 9.",
    f"This is {PRACTICE}. You have an appointment {{day}} at {{time}}. Press 1 to confirm, "
    "press 2 to speak to our staff. To opt out of these calls, press 9.",
]
TENANT = TenantFacts(PRACTICE, PHONE, True,
                     frozenset({"appointment_reminder", "lab_results", "wellness_checkup"}))


def pin_one_core() -> str:
    try:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    except (AttributeError, OSError):
        return "not pinned"
    return "pinned to one core"


def _slot(rng: random.Random, week: datetime) -> tuple[datetime, str, str]:
    start = week + timedelta(days=rng.randrange(2, 4), hours=rng.choice(range(15, 27)),
                             minutes=rng.choice([0, 30]))
    local = start.astimezone(hours.zone("America/Los_Angeles"))
    return start, local.strftime("%a %b %-d"), local.strftime("%-I:%M %p")


def build(n: int, seed: int) -> list[PolicyRequest]:
    rng = random.Random(seed)
    weeks = [datetime(2026, 12, 7, tzinfo=UTC), datetime(2026, 7, 6, tzinfo=UTC)]
    slots = [_slot(rng, w) for w in weeks for _ in range(24)]
    patients = [PatientFacts(rng.choice(FIRST), rng.choice(LAST), None) for _ in range(500)]
    out: list[PolicyRequest] = []
    for i in range(n):
        week = weeks[i % 2]
        now = week + timedelta(seconds=rng.randrange(7 * 86400))
        roll = rng.random()
        channel = Channel.SMS if roll < 0.55 else Channel.VOICE
        automated = roll < 0.95
        if rng.random() < 0.7:
            area, tz = rng.choice(ZONED)
            zone_name: str | None = tz
        else:
            area, zone_name = rng.choice(UNZONED), None
        phone = f"+1{area}{rng.randrange(2, 10)}{rng.randrange(10**6):06d}"
        kind = ConsentKind.TEXT_MESSAGES if channel is Channel.SMS else (
            ConsentKind.AUTOMATED_CALLS)
        c = rng.random()
        consents: tuple[Consent, ...] = ()
        if c < 0.9:
            consents = (Consent(kind, ConsentForm.WRITTEN, now - timedelta(days=200)),)
        elif c < 0.94:
            consents = (Consent(kind, ConsentForm.WRITTEN, now - timedelta(days=200),
                                now - timedelta(days=3)),)
        elif c < 0.97:
            consents = (Consent(kind, ConsentForm.VERBAL, now - timedelta(days=20)),)
        opt_outs = (OptOut(now - timedelta(days=1), Channel.SMS),) if rng.random() < 0.03 else ()
        history = tuple(
            PastContact(rng.choice([Channel.SMS, Channel.VOICE]),
                        now - timedelta(seconds=rng.randrange(9 * 86400)), "appointment_reminder")
            for _ in range(rng.choice([0, 0, 0, 1, 1, 2, 3, 4]))
        )
        start, day, at = (slots[rng.randrange(24) + 24 * (i % 2)])
        template = rng.choice(SMS_TEMPLATES if channel is Channel.SMS else VOICE_TEMPLATES)
        message = Message(channel, "appointment_reminder", automated,
                          template.format(day=day, time=at),
                          max_duration_s=60 if channel is Channel.VOICE else None,
                          appointment_at=start)
        contact = ContactFacts(phone, LineType.WIRELESS, True, zone_name, consents, opt_outs,
                               rng.random() < 0.01, rng.choice(patients))
        out.append(PolicyRequest(now, TENANT, contact, message, history))
    return out


def clear_caches() -> None:
    hours.zone.cache_clear()
    hours.number_zones.cache_clear()
    content._any_identifier.cache_clear()  # the benchmark measures cold caches too


def best(body: Callable[[], object], repeat: int) -> float:
    """The fastest of ``repeat`` timed runs: the machine is shared, so the minimum is the
    figure least disturbed by other work."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        body()
        times.append(time.perf_counter() - start)
    return min(times)


def run_all(requests: Sequence[PolicyRequest]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in requests:
        d = decide(r)
        key = "allow" if d.allowed else ("deny+retry" if d.retry_after else "deny")
        counts[key] = counts.get(key, 0) + 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=3, help="runs per measure; best is kept")
    args = parser.parse_args()
    pinned = pin_one_core()
    requests = build(args.contacts, args.seed)
    manual = [replace(r, message=replace(r.message, automated=False)) for r in requests]
    texts = sorted({r.message.text for r in requests})
    n = len(requests)

    find_identifiers("warm the lexicon")  # loaded once per process (~0.1 s), not per decision
    allow = AllowList(practice_name=PRACTICE, practice_phones=(PHONE,))
    sms = [r.message.text for r in requests if r.message.channel is Channel.SMS]

    def cold_pass() -> None:
        clear_caches()
        run_all(requests)

    cold = best(cold_pass, args.repeat)
    run_all(requests)
    warm = best(lambda: run_all(requests), args.repeat)
    counts = run_all(requests)
    bare = best(lambda: run_all(manual), args.repeat)
    detector = best(lambda: [find_identifiers(t, None, allow) for t in texts], args.repeat)
    sms_time = best(lambda: [measure(t) for t in sms], args.repeat)

    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"policy benchmark, {when}; {platform.python_implementation()} "
          f"{platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs, "
          f"{pinned}; load average at start {os.getloadavg()[0]:.1f} (machine shared)")
    print(f"{n:,} contacts; outcomes: " + ", ".join(f"{k} {v:,}" for k, v in sorted(
        counts.items())) + f"; {len(texts)} distinct message texts")
    print()
    print("| measure | per second | per item |")
    print("| --- | ---: | ---: |")
    rows = [
        ("`decide`, cold caches (planning)", n / cold, cold / n),
        ("`decide`, warm (dial-time re-check)", n / warm, warm / n),
        ("`decide`, no content rules (manual calls)", n / bare, bare / n),
        ("identifier check alone, uncached (one detector pass)", len(texts) / detector,
         detector / len(texts)),
        ("`sms_length.measure`", len(sms) / sms_time, sms_time / len(sms)),
    ]
    for label, per_second, per_item in rows:
        print(f"| {label} | {per_second:,.0f} | {per_item * 1e6:,.1f} µs |")


if __name__ == "__main__":
    main()

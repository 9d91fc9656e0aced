"""Pure decisions of the call agent: who the caller is, what they may hear, what they said.

Identity verification follows HHS's guidance on verifying a caller before disclosing PHI
(45 CFR 164.514(h)): two identifiers that match ONE patient record, one of them always the
date of birth; caller ID never counts (it is trivially spoofed), though it may break a tie
between two records. On an outbound call the number carecall itself dialled counts as the
phone identifier. Billing answers need a third identifier (the last date of service or an
invoice number). A failure never says which identifier was wrong.

Everything here is pure; each decision carries reason codes an auditor can read.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from rapidfuzz.distance import JaroWinkler

from carecall.core.decision import ALLOW, Decision, deny
from carecall.patients.rules import fold_name, names_match

#: Failed verification attempts allowed on one call before self-service is locked.
MAX_CALL_FAILURES = 3
#: Failures against one patient record, across calls, that lock it for self-service.
MAX_RECORD_FAILURES = 5
RECORD_WINDOW = timedelta(hours=24)
#: An automated reminder's message part must fit in one minute of speech (47 CFR
#: 64.1200(a)(9)(iv)(F) for exempt healthcare calls); TTS speaks about 150 words a minute.
WORDS_PER_MINUTE = 150

#: The identifiers, in the order events list them.
IDENTIFIER_ORDER = ("name", "dob", "phone", "zip", "address")


class VerifyReason(StrEnum):
    NO_DOB = "NO_DOB"
    NEED_SECOND_IDENTIFIER = "NEED_SECOND_IDENTIFIER"
    NO_MATCH = "NO_MATCH"
    AMBIGUOUS = "AMBIGUOUS"
    RECORD_LOCKED = "RECORD_LOCKED"
    CALL_LOCKED = "CALL_LOCKED"
    THIRD_PARTY = "THIRD_PARTY"
    BILLING_IDENTIFIER_MISSING = "BILLING_IDENTIFIER_MISSING"
    BILLING_NO_MATCH = "BILLING_NO_MATCH"


@dataclass(frozen=True)
class Identity:
    """What verification compares against: one patient's identifiers (PHI, in memory only)."""

    id: uuid.UUID
    first_name: str
    last_name: str
    dob: date
    phones: tuple[str, ...] = ()
    zip: str | None = None
    street: str | None = None
    last_visit: date | None = None
    invoices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Claims:
    """What the caller said about themselves so far (PHI: lives in the encrypted state)."""

    name: str | None = None
    dob: date | None = None
    phone: str | None = None
    zip: str | None = None
    street: str | None = None
    last_visit: date | None = None
    #: A last visit said without its year ("October fourteenth"), as "MM-DD".
    last_visit_day: str | None = None
    invoice: str | None = None
    #: A name heard one word at a time ("first name Margaret", then "last name O'Connell");
    #: it becomes ``name`` once it has two words, and is no identifier before that.
    partial_name: str | None = None

    @property
    def heard_anything(self) -> bool:
        return self.identity_count > 0 or self.partial_name is not None

    @property
    def identity_count(self) -> int:
        return sum(v is not None for v in (self.name, self.dob, self.phone, self.zip, self.street))


@dataclass(frozen=True)
class Verification:
    decision: Decision
    patient_id: uuid.UUID | None = None
    identifiers: tuple[str, ...] = ()
    #: Records this attempt counts against when it failed (for the 24-hour record lock).
    against: tuple[uuid.UUID, ...] = ()

    @property
    def verified(self) -> bool:
        return self.decision.allowed

    @property
    def counts_as_failure(self) -> bool:
        """Missing identifiers and look-alike records ask for more; a mismatch is a failure."""
        return not self.decision.allowed and VerifyReason.NO_MATCH in self.decision.reasons


def _digits(text: str | None) -> str:
    return re.sub(r"\D", "", text or "")


def phone_matches(said: str | None, phones: Iterable[str]) -> bool:
    """Ten-digit national numbers compared, so "+1 617..." and "617..." are one number."""
    digits = _digits(said)[-10:]
    return len(digits) == 10 and any(_digits(p)[-10:] == digits for p in phones)


_STREET_WORDS = frozenset({
    "street", "st", "avenue", "ave", "road", "rd", "lane", "ln", "drive", "dr", "way", "court",
    "ct", "boulevard", "blvd", "place", "pl", "terrace", "circle", "square", "parkway", "highway",
})


def _street_key(text: str) -> tuple[str, str]:
    """(house number, street name without its suffix) of a street line as said or written."""
    number = ""
    match = re.match(r"\s*(\d+)", text)
    if match:
        number = match.group(1)
    words = [w for w in fold_name(re.sub(r"\d+", " ", text)).split() if w not in _STREET_WORDS]
    return number, " ".join(words)


def street_matches(said: str | None, street: str | None) -> bool:
    """House number exactly and the street name fuzzily ("twelve elm street" and "12 Elm St")."""
    if not said or not street:
        return False
    said_number, said_name = _street_key(said)
    number, name = _street_key(street)
    if not number or said_number != number or not said_name or not name:
        return False
    return JaroWinkler.similarity(said_name, name) >= 0.88


def name_matches(said: str, first_name: str, last_name: str) -> bool:
    """A full name somewhere in what was said: any run of two to four words may be it
    ("yes it's margaret o connell" holds "margaret o connell")."""
    words = fold_name(said).split()
    for size in range(2, min(4, len(words)) + 1):
        for start in range(len(words) - size + 1):
            window = " ".join(words[start : start + size])
            if names_match(window, first_name, last_name).matched:
                return True
    return False


def zip_matches(said: str | None, zip_code: str | None) -> bool:
    return bool(said) and bool(zip_code) and _digits(said)[:5] == _digits(zip_code)[:5]


def matched_identifiers(
    claims: Claims, person: Identity, dialled: str | None = None
) -> tuple[str, ...]:
    """Which stated identifiers match this record; the dialled number counts as phone."""
    found: set[str] = set()
    if claims.name and name_matches(claims.name, person.first_name, person.last_name):
        found.add("name")
    if claims.dob is not None and claims.dob == person.dob:
        found.add("dob")
    if phone_matches(claims.phone, person.phones) or (
        dialled is not None and phone_matches(dialled, person.phones)
    ):
        found.add("phone")
    if zip_matches(claims.zip, person.zip):
        found.add("zip")
    if street_matches(claims.street, person.street):
        found.add("address")
    return tuple(i for i in IDENTIFIER_ORDER if i in found)


def _stated(claims: Claims, dialled: str | None) -> int:
    return claims.identity_count + (1 if dialled else 0)


def sufficient(identifiers: Sequence[str]) -> bool:
    """Date of birth plus one of name, phone, ZIP or street address."""
    return "dob" in identifiers and len(identifiers) >= 2


def verify(  # noqa: PLR0911 - one return per outcome, each with its reason
    claims: Claims,
    candidates: Sequence[Identity],
    *,
    caller_id: str | None = None,
    dialled: str | None = None,
    locked: frozenset[uuid.UUID] = frozenset(),
    call_failures: int = 0,
    third_party: bool = False,
) -> Verification:
    """Does what the caller stated identify exactly one of ``candidates``?

    ``caller_id`` only breaks a tie between records that both match on two identifiers; it
    is never one of the identifiers. ``dialled`` is the number carecall called (outbound).
    """
    if third_party:
        return Verification(deny(VerifyReason.THIRD_PARTY))
    if call_failures >= MAX_CALL_FAILURES:
        return Verification(deny(VerifyReason.CALL_LOCKED))
    if claims.dob is None:
        return Verification(deny(VerifyReason.NO_DOB))
    if _stated(claims, dialled) < 2:
        return Verification(deny(VerifyReason.NEED_SECOND_IDENTIFIER))
    scored = [(c, matched_identifiers(claims, c, dialled)) for c in candidates]
    good = [(c, ids) for c, ids in scored if sufficient(ids)]
    if len(good) > 1:
        # Two records match on two identifiers (namesakes born the same day): a record
        # that contradicts anything else the caller stated drops out.
        stated = _stated(claims, dialled)
        consistent = [(c, ids) for c, ids in good if len(ids) == stated]
        good = consistent or good
    if len(good) > 1 and caller_id:
        by_caller = [(c, ids) for c, ids in good if phone_matches(caller_id, c.phones)]
        if len(by_caller) == 1:
            good = by_caller
    if len(good) > 1:
        return Verification(deny(VerifyReason.AMBIGUOUS))
    if len(good) == 1:
        person, ids = good[0]
        if person.id in locked:
            return Verification(deny(VerifyReason.RECORD_LOCKED), against=(person.id,))
        return Verification(ALLOW, person.id, ids)
    # A failure counts against every record the attempt partly matched, and the record the
    # caller ID points at: that is where someone is trying their luck.
    against = [c.id for c, ids in scored if ids]
    if caller_id:
        against += [c.id for c in candidates if phone_matches(caller_id, c.phones)]
    return Verification(deny(VerifyReason.NO_MATCH), against=tuple(dict.fromkeys(against)))


def verify_billing(claims: Claims, person: Identity) -> Decision:
    """The third identifier billing needs: last date of service, or one invoice number."""
    if claims.last_visit is None and claims.last_visit_day is None and not claims.invoice:
        return deny(VerifyReason.BILLING_IDENTIFIER_MISSING)
    if claims.last_visit is not None and claims.last_visit == person.last_visit:
        return ALLOW
    if (claims.last_visit_day is not None and person.last_visit is not None
            and claims.last_visit_day == person.last_visit.strftime("%m-%d")):
        return ALLOW  # callers name their last visit by day and month
    said = _digits(claims.invoice)
    if said and any(_digits(number) == said for number in person.invoices):
        return ALLOW
    return deny(VerifyReason.BILLING_NO_MATCH)


def call_locked(failures: int) -> bool:
    return failures >= MAX_CALL_FAILURES


def recent_failures(times: Iterable[datetime], now: datetime) -> int:
    return sum(1 for t in times if now - RECORD_WINDOW < t <= now)


def record_locked(times: Iterable[datetime], now: datetime) -> bool:
    """Five failures against one record within the last 24 hours lock it for self-service."""
    return recent_failures(times, now) >= MAX_RECORD_FAILURES


def within_one_minute(text: str) -> bool:
    return len(text.split()) <= WORDS_PER_MINUTE


# ---- what the caller said ----------------------------------------------------------------


class Cue(StrEnum):
    THIRD_PARTY = "THIRD_PARTY"
    RED_FLAG = "RED_FLAG"
    OPT_OUT = "OPT_OUT"
    STOP_RECORDING = "STOP_RECORDING"
    ROBOT = "ROBOT"
    HUMAN = "HUMAN"
    GOODBYE = "GOODBYE"
    HOLD = "HOLD"
    WRONG_PARTY = "WRONG_PARTY"


class Intent(StrEnum):
    APPOINTMENT = "appointment"
    CONFIRM = "confirm"
    CANCEL = "cancel"
    RESCHEDULE = "reschedule"
    BILLING = "billing"
    PRESCRIPTION = "prescription"
    LABS = "labs"
    PREREGISTRATION = "preregistration"
    PREOP = "preop"
    HOME_HEALTH = "home_health"
    FOLLOWUP = "followup"
    HOURS = "hours"
    DIRECTIONS = "directions"


#: Intents that need a verified caller before anything is said.
PHI_INTENTS = frozenset(Intent) - {Intent.HOURS, Intent.DIRECTIONS}

_RELATION = (
    r"(?:husband|wife|spouse|partner|boyfriend|girlfriend|fianc[eé]e?|room ?mate|flat ?mate|"
    r"housemate|mother|mom|mum|mommy|father|dad|daddy|son|daughter|child|kid|kids|baby|brother|"
    r"sister|grand(?:mother|ma|father|pa|son|daughter)|aunt|uncle|niece|nephew|cousin|friend|"
    r"neighbou?r|boss|client|patient|employer|employee|parent|in-law|mother-in-law|"
    r"father-in-law)"
)


def _re(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


_THIRD_PARTY = _re(
    rf"\b(?:for|about|regarding) (?:my|our) {_RELATION}\b",
    rf"\bmy {_RELATION}(?:'s| s)\b",
    r"\bon behalf of\b",
    rf"\b(?:i am|i'm|im|this is) (?:his|her|their) {_RELATION}\b",
    r"\b(?:calling|call) (?:for|about) (?:him|her|them)\b",
    rf"\b(?:my|our) {_RELATION} (?:has|had|needs|wants|is|was|asked|can't|cannot)\b",
)
_RED_FLAG = _re(
    r"\bchest (?:pain|pains|tightness|pressure|hurts?)\b",
    r"\b(?:trouble|difficulty|hard time|problems?) breathing\b",
    r"\b(?:can't|cannot|can not|couldn't) breathe\b",
    r"\bshort(?:ness)? of breath\b",
    r"\bbleeding (?:heavily|a lot|badly|won't stop|that won't stop|will not stop)\b",
    r"\b(?:heavy|severe|uncontrolled) bleeding\b",
    r"\b(?:passed out|fainted|fainting|unconscious|collapsed)\b",
    r"\b(?:stroke|seizure|heart attack|overdose|overdosed)\b",
    r"\b(?:face|mouth) (?:is )?droop",
    r"\bslurred speech\b",
    r"\b(?:suicidal|kill myself|end my life|hurt myself|want to die)\b",
    r"\b(?:throat|tongue) (?:is )?(?:swelling|swollen|closing)\b",
    r"\bsevere (?:pain|headache|allergic reaction)\b",
    r"\bcoughing (?:up )?blood\b",
)
_NEGATION = re.compile(r"\b(?:no|not|don't|dont|didn't|never|without|denies|none|any)\b")
_STOP_RECORDING = _re(
    r"\bstop (?:the )?recording\b",
    r"\b(?:don't|dont|do not) record\b",
    r"\bno recording\b",
    r"\bturn (?:off )?the recording(?: off)?\b",
    r"\bturn off (?:the )?recording\b",
    r"\b(?:don't|dont|do not) want (?:to be|this|it|the call|this call) recorded\b",
    r"\bnot be recorded\b",
)
_OPT_OUT = _re(
    r"\bstop calling\b",
    r"\b(?:don't|dont|do not|never) call (?:me|us|here|this number)\b",
    r"\bdo not call\b",
    r"\btake (?:me|my number|this number) off\b",
    r"\bremove (?:me|my number|this number)\b",
    r"\bunsubscribe\b",
    r"\bopt(?: |-)?out\b",
    r"\bno more (?:automated )?calls\b",
    r"\bstop (?:these|the|your|all) (?:automated )?calls\b",
    r"^\s*stop\s*[.!]?\s*$",
)
_ROBOT = _re(
    r"\bare you (?:a |an )?(?:robot|bot|machine|computer|real|human|person|ai|live|automated)",
    r"\bis this (?:a |an )?(?:robot|bot|machine|computer|real person|human|recording|ai|live"
    r" person|automated)",
    r"\bam i (?:talking|speaking) (?:to|with) (?:a |an )?(?:robot|bot|machine|computer|real|human"
    r"|person|ai)",
)
_HUMAN = _re(
    r"\b(?:speak|talk) (?:to|with) (?:a |an |the )?(?:someone|somebody|person|human|agent|"
    r"representative|operator|staff|nurse|receptionist|doctor|front desk|real|live)",
    r"\b(?:real|live) (?:person|human|agent)\b",
    r"\b(?:representative|operator|receptionist)\b",
    r"\btransfer me\b",
    r"\bconnect me\b",
    r"\bhuman\b",
)
_GOODBYE = _re(
    r"\b(?:good ?bye|bye)\b",
    r"\bthat(?:'s| is| was) (?:all|it|everything)\b",
    r"\bnothing else\b",
    r"\bno,? thank(?:s| you)\b",
    r"\bi'?m (?:all )?(?:done|good|set)\b",
    r"\bhang(?:ing)? up\b",
)
_HOLD = _re(
    r"\bhold on\b", r"\b(?:one|just a) (?:moment|minute|second|sec)\b",
    r"\blet me get (?:him|her|them)\b", r"^\s*wait\b", r"\bi'?ll get (?:him|her|them)\b",
)
_WRONG_PARTY = _re(
    r"\bwrong number\b",
    r"\bno one (?:here )?(?:by|with) that name\b",
    r"\bnobody (?:here )?(?:by|with) that name\b",
    r"\b(?:doesn't|does not|don't|do not) live here\b",
    r"\b(?:he|she|they)(?:'s|'re| is| are) (?:not|out|away)\b",
    r"\bnot (?:here|home|available|in)\b",
    r"\byou have the wrong\b",
)


def normalise_text(text: str) -> str:
    """Lower case, curly apostrophes straightened, spaces collapsed."""
    return " ".join(text.lower().replace("\u2019", "'").split())


def _red_flag(text: str) -> bool:
    for match in _RED_FLAG.finditer(text):
        before = text[max(0, match.start() - 30) : match.start()].split()[-4:]
        if any(_NEGATION.fullmatch(w.strip(",.")) for w in before):
            continue
        return True
    return False


def cues(text: str) -> frozenset[Cue]:
    """Everything notable in one utterance; the brain decides what takes precedence."""
    t = normalise_text(text)
    found: set[Cue] = set()
    if _THIRD_PARTY.search(t):
        found.add(Cue.THIRD_PARTY)
    if _red_flag(t):
        found.add(Cue.RED_FLAG)
    if _STOP_RECORDING.search(t):
        found.add(Cue.STOP_RECORDING)
    elif _OPT_OUT.search(t):
        found.add(Cue.OPT_OUT)
    if _ROBOT.search(t):
        found.add(Cue.ROBOT)
    elif _HUMAN.search(t):
        found.add(Cue.HUMAN)
    if _GOODBYE.search(t):
        found.add(Cue.GOODBYE)
    if _HOLD.search(t):
        found.add(Cue.HOLD)
    if _WRONG_PARTY.search(t):
        found.add(Cue.WRONG_PARTY)
    return frozenset(found)


_YES_START = re.compile(
    r"^(?:yes|yeah|yep|yup|yea|sure|correct|right|ok|okay|absolutely|definitely|certainly|"
    r"affirmative|please|speaking|indeed|uh huh|mhm)\b"
)
_NO_START = re.compile(r"^(?:no|nope|nah|negative)\b")
_YES = _re(
    r"\b(?:that's|that is|it's|it is) (?:me|right|correct|fine|ok|okay)\b",
    r"\bthis is (?:she|he|him|her|me)\b", r"\b(?:go ahead|sounds good|that works|of course)\b",
    r"\bi (?:do|agree|consent)\b", r"\b(?:yes|yeah|sure|okay|ok)\b",
)
_NO = _re(r"\b(?:don't|dont|do not|rather not|prefer not|not really)\b", r"\bno\b")


def yes_no(text: str) -> bool | None:
    """True for yes, False for no, None when the answer is neither (or both, unclear)."""
    t = normalise_text(text).strip(" .,!?")
    if _NO_START.match(t):
        return False
    if _YES_START.match(t):
        return True
    yes, no = bool(_YES.search(t)), bool(_NO.search(t))
    if yes and not no:
        return True
    if no and not yes:
        return False
    return None


_INTENTS: tuple[tuple[Intent, re.Pattern[str]], ...] = (
    (Intent.RESCHEDULE, _re(r"\breschedul", r"\b(?:move|change|push back|switch) (?:my|the|it)",
                            r"\b(?:another|different|new|other|later|earlier) (?:time|day|date"
                            r"|slot)")),
    (Intent.CANCEL, _re(r"\bcancel", r"\b(?:can't|cannot|can not|won't) (?:make|come|attend)")),
    (Intent.CONFIRM, _re(r"\bconfirm", r"\b(?:i'll|i will) be there\b")),
    (Intent.BILLING, _re(r"\bbill", r"\bbalance\b", r"\bowe\b", r"\binvoice", r"\bpayment",
                         r"\bstatement\b", r"\bcharge")),
    (Intent.PRESCRIPTION, _re(r"\bprescription", r"\brefill", r"\bmedication", r"\bmeds\b",
                              r"\bpharmacy\b", r"\brx\b", r"\bpills?\b")),
    (Intent.LABS, _re(r"\blab\b", r"\blabs\b", r"\btest results?\b", r"\bresults\b",
                      r"\bblood ?work\b", r"\bblood test")),
    (Intent.PREREGISTRATION, _re(r"\bpre-? ?regist", r"\bregist(?:er|ration)\b",
                                 r"\bcheck-? ?in\b")),
    (Intent.PREOP, _re(r"\bpre-? ?op", r"\bbefore (?:my |the )?(?:surgery|procedure|operation)",
                       r"\bsurgery\b", r"\bprocedure\b", r"\bfasting\b")),
    (Intent.HOME_HEALTH, _re(r"\bhome ?(?:health|care|healthcare)", r"\bwound care\b",
                             r"\bnurse visit")),
    (Intent.FOLLOWUP, _re(r"\bdischarg", r"\bfollow-? ?up (?:questions|call)")),
    (Intent.HOURS, _re(r"\bhours\b", r"\b(?:are|is) (?:you|the office|the clinic) open",
                       r"\bwhen (?:do|does) (?:you|the office|the clinic) (?:open|close)",
                       r"\bopening\b", r"\bclosing\b", r"\bopen (?:on|today|tomorrow)")),
    (Intent.DIRECTIONS, _re(r"\bdirections?\b", r"\bwhere (?:are you|is the|is your)",
                            r"\blocated\b", r"\bparking\b", r"\bhow do i get\b",
                            r"\byour address\b", r"\bthe address\b")),
    (Intent.APPOINTMENT, _re(r"\bappointment", r"\bappt\b", r"\bschedul", r"\bbooking\b",
                             r"\bwhen (?:is|am) (?:my|i)\b", r"\bsee (?:the |my )?doctor")),
)


def intent_of(text: str) -> Intent | None:
    """The first intent whose words the utterance uses (specific ones before general)."""
    t = normalise_text(text)
    for intent, pattern in _INTENTS:
        if pattern.search(t):
            return intent
    return None

"""Pure consent decisions: how an inbound text is read, and which opt-outs are in force.

Revocation by any reasonable means (47 CFR 64.1200(a)(10), FCC 24-24, in force since
11 April 2025): the keywords STOP, STOPALL, UNSUBSCRIBE, END, QUIT, CANCEL, REVOKE, OPTOUT and
OPT OUT always count (any case, surrounding spaces and punctuation ignored); so does a message
that plainly asks to stop. A message that might be a revocation but is unclear is treated as
one (the rule's direction is to honour the request) and queued for a human to confirm; the
one confirmation text (64.1200(a)(12)) invites START, so a misread costs one reply.

Decided edge: "don't stop reminding me" contains a stop word under a negation. It is read
as unclear (opt-out now, a human confirms or dismisses), not as a request to continue: a
wrong "continue" would be an unlawful contact, a wrong "stop" is undone by a reply or a
reviewer. Everyday uses of the words ("stop by", "stop taking my pills?", "the end of the
week", "cancel my appointment") change nothing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime, timedelta

from carecall.consent.model import (
    ConsentForm,
    ConsentKind,
    EvidenceKind,
    InboundKind,
    InboundResult,
    OptOut,
    OptOutScope,
)
from carecall.policy.model import Channel


class InboundReason:
    """Reason codes of ``classify_inbound`` (stable: stored with opt-outs and reviews)."""

    OPT_OUT_KEYWORD = "OPT_OUT_KEYWORD"
    OPT_OUT_PHRASE = "OPT_OUT_PHRASE"
    UNCLEAR_STOP_WORD = "UNCLEAR_STOP_WORD"
    UNCLEAR_NEGATED_STOP = "UNCLEAR_NEGATED_STOP"
    UNCLEAR_NOT_INTERESTED = "UNCLEAR_NOT_INTERESTED"
    UNCLEAR_WRONG_NUMBER = "UNCLEAR_WRONG_NUMBER"
    UNCLEAR_WHO_IS_THIS = "UNCLEAR_WHO_IS_THIS"
    UNCLEAR_UNWANTED = "UNCLEAR_UNWANTED"
    OPT_IN_KEYWORD = "OPT_IN_KEYWORD"
    HELP_KEYWORD = "HELP_KEYWORD"
    NO_CONSENT_CHANGE = "NO_CONSENT_CHANGE"
    EMPTY = "EMPTY"


R = InboundReason

#: A consent dated this far ahead of the server clock is still accepted (clock drift).
CLOCK_SKEW = timedelta(minutes=5)
WRITTEN_EVIDENCE = frozenset({EvidenceKind.SIGNED_FORM, EvidenceKind.E_SIGNATURE})

#: The FCC's and Twilio's opt-out keywords (the whole message, once normalised).
OPT_OUT_KEYWORDS: dict[str, OptOutScope] = {
    "stop": OptOutScope.ALL,
    "stopall": OptOutScope.ALL,
    "stop all": OptOutScope.ALL,
    "unsubscribe": OptOutScope.ALL,
    "end": OptOutScope.ALL,
    "quit": OptOutScope.ALL,
    "cancel": OptOutScope.ALL,
    "revoke": OptOutScope.ALL,
    "optout": OptOutScope.ALL,
    "opt out": OptOutScope.ALL,
}
OPT_IN_KEYWORDS = frozenset({"start", "unstop"})
HELP_KEYWORDS = frozenset({"help", "info"})

#: Words around a keyword that do not change its meaning ("STOP please", "stop it now").
_FILLER = frozenset({
    "please", "pls", "plz", "now", "it", "thanks", "thank", "you", "thx", "ty", "immediately",
    "asap", "right", "away", "just", "ok", "okay", "already", "me", "now!", "sir", "maam",
})

_SPACES = re.compile(r"\s+")
#: Anything that is not a letter, digit, apostrophe or space counts as punctuation.
_PUNCT = re.compile(r"[^\w' ]+|_")

_CHANNEL_WORDS = (
    r"(?:text(?:s|ing|ed)?|sms|messag(?:e|es|ing)|msgs?|call(?:s|ing|ed)?|phon(?:e|ing)"
    r"|ring(?:ing)?|contact(?:ing)?|remind(?:er|ers|ing)?|notification(?:s)?|alerts?"
    r"|robocalls?|voicemails?|bother(?:ing)?|spam(?:ming)?|harass(?:ing)?)"
)
_CLEAR_PHRASES: tuple[tuple[re.Pattern[str], OptOutScope], ...] = (
    # "please stop texting me", "stop sending me messages", "quit calling", "cease contact"
    (re.compile(r"\b(?:stop|quit|cease|end|halt)\b(?: \w+){0,3}? " + _CHANNEL_WORDS + r"\b"),
     OptOutScope.ALL),
    # "no more texts", "no more calls please"
    (re.compile(r"\bno more " + _CHANNEL_WORDS + r"\b"), OptOutScope.ALL),
    # "don't call me again", "do not text this number", "never contact me"
    (re.compile(r"\b(?:don't|dont|do not|never|stop to) (?:\w+ ){0,2}?" + _CHANNEL_WORDS
                + r"\b"), OptOutScope.ALL),
    # "take me off your list", "remove my number from your list", "delete my number"
    (re.compile(r"\b(?:take|remove|delete|drop|erase)\b(?: \w+){0,4}? (?:off|from|out of)"
                r"\b(?: \w+){0,3}? (?:list|lists|contacts?|system|database)\b"), OptOutScope.ALL),
    (re.compile(r"\b(?:remove|delete|erase|lose) (?:me|my (?:phone )?number|this (?:phone )?"
                r"number)\b"), OptOutScope.ALL),
    # "unsubscribe me", "opt me out", "I want to opt out", "I revoke my consent"
    (re.compile(r"\b(?:unsubscribe|opt (?:me )?out|optout|opt-out)\b"), OptOutScope.ALL),
    (re.compile(r"\b(?:revoke|withdraw|cancel)\b(?: \w+){0,2}? (?:consent|permission|"
                r"subscription|authori[sz]ation)\b"), OptOutScope.ALL),
    (re.compile(r"\b(?:cancel|end)\b(?: \w+){0,2}? " + _CHANNEL_WORDS + r"\b"), OptOutScope.ALL),
)
_UNCLEAR_PHRASES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bnot interested\b|\bno interest\b"), R.UNCLEAR_NOT_INTERESTED),
    (re.compile(r"\bwrong (?:number|person|phone|#)|\bnot (?:the right|the correct) "
                r"(?:number|person)\b|\bno one (?:here )?by that name\b"), R.UNCLEAR_WRONG_NUMBER),
    (re.compile(r"\bwho(?: is|'s| are|s) (?:this|you|u)\b|\bwho dis\b|"
                r"\bi don't know you\b|\bhow did you get (?:my|this) number\b"),
     R.UNCLEAR_WHO_IS_THIS),
    (re.compile(r"\bleave me alone\b|\bgo away\b|\bspam\b|\bscam\b|\bnot (?:a|your) patient\b"
                r"|\bnever (?:been )?(?:a|your) patient\b|\bno longer (?:a|your) patient\b"
                r"|\bdidn't (?:sign up|ask for)\b|\bdid not (?:sign up|ask for)\b"
                r"|\bnot (?:wanted|welcome)\b|\bdon't want (?:these|this|them|your)\b"),
     R.UNCLEAR_UNWANTED),
)
#: A stop word under a negation: "don't stop", "never stop", "do not stop".
_NEGATED_STOP = re.compile(r"\b(?:don't|dont|do not|never|not) (?:\w+ )?stop\b")
#: Strong revocation words that make a longer message unclear wherever they appear.
_STOP_WORD = re.compile(r"\b(?:stop|stopall|unsubscribe|revoke|optout)\b")
#: Everyday uses of "stop" that ask nothing of the sender.
_BENIGN_STOP = re.compile(
    r"\bstop (?:by|in|at|over|eating|drinking|taking|using|smoking|bleeding|the (?:medication|"
    r"medicine|pills?|bleeding)|my (?:medication|medicine|pills?|meds))\b"
    r"|\b(?:bus|pit|truck|full|non|last|next|first) stop\b"
)


def normalise(text: str) -> str:
    """Case-folded, NFKC, curly quotes straightened, punctuation (not apostrophes) made
    space, spaces collapsed and trimmed."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = folded.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    folded = _PUNCT.sub(" ", folded)
    return _SPACES.sub(" ", folded).strip(" '")


def _keyword(core: str) -> str | None:
    """The opt-out keyword the whole message is, allowing filler words around it."""
    if core in OPT_OUT_KEYWORDS:
        return core
    if core.replace(" ", "") in ("optout", "stopall"):
        return core.replace(" ", "")
    words = [w for w in core.split(" ") if w not in _FILLER]
    if not words or len(words) > 2:
        return None
    rest = " ".join(words)
    if rest in OPT_OUT_KEYWORDS:
        return rest
    if len(words) == 2 and words[0] == words[1] and words[0] in OPT_OUT_KEYWORDS:
        return words[0]  # "stop stop"
    return None


def classify_inbound(text: str) -> InboundResult:  # noqa: PLR0911 - one exit per reading, in order
    """Read one inbound text for consent: opt-out, unclear opt-out, opt-in, help or none."""
    core = normalise(text)
    if not core:
        return InboundResult(InboundKind.NONE, R.EMPTY)
    if core in OPT_IN_KEYWORDS:
        return InboundResult(InboundKind.OPT_IN, R.OPT_IN_KEYWORD, OptOutScope.TEXTS,
                             core.upper())
    if core in HELP_KEYWORDS:
        return InboundResult(InboundKind.HELP, R.HELP_KEYWORD, keyword=core.upper())
    keyword = _keyword(core)
    if keyword is not None:
        return InboundResult(InboundKind.OPT_OUT, R.OPT_OUT_KEYWORD, OPT_OUT_KEYWORDS.get(
            keyword, OptOutScope.ALL), keyword.upper().replace(" ", ""))
    if _NEGATED_STOP.search(core):
        return InboundResult(InboundKind.OPT_OUT_UNCLEAR, R.UNCLEAR_NEGATED_STOP)
    for pattern, scope in _CLEAR_PHRASES:
        if pattern.search(core) and not _benign_only(core):
            return InboundResult(InboundKind.OPT_OUT, R.OPT_OUT_PHRASE, scope)
    for pattern, reason in _UNCLEAR_PHRASES:
        if pattern.search(core):
            return InboundResult(InboundKind.OPT_OUT_UNCLEAR, reason)
    if _STOP_WORD.search(_BENIGN_STOP.sub(" ", core)):
        return InboundResult(InboundKind.OPT_OUT_UNCLEAR, R.UNCLEAR_STOP_WORD)
    return InboundResult(InboundKind.NONE, R.NO_CONSENT_CHANGE)


def _benign_only(core: str) -> bool:
    """True when every stop-like phrase in the message is an everyday one ("stop by the
    clinic to pick up your reminder card" is not a request to stop reminders)."""
    if not _BENIGN_STOP.search(core):
        return False
    stripped = _BENIGN_STOP.sub(" ", core)
    return not any(p.search(stripped) for p, _ in _CLEAR_PHRASES)


def in_force(opt_outs: Iterable[OptOut], now: datetime) -> list[OptOut]:
    """Opt-outs recorded at or before ``now`` and not lifted at or before ``now``."""
    return [
        o for o in opt_outs
        if o.at <= now and (o.lifted_at is None or o.lifted_at > now)
    ]


def lifted_by_opt_in(opt_out: OptOut) -> bool:
    """START re-opts in to texts: it lifts the opt-outs that arrived by text. An opt-out
    given on a call or through staff stays until staff lift it."""
    return opt_out.channel is Channel.SMS and opt_out.scope in (OptOutScope.ALL,
                                                                OptOutScope.TEXTS)


def needs_confirmation(already_in_force: bool) -> bool:
    """64.1200(a)(12): one confirmation text per opt-out. A repeat STOP while an opt-out
    is already in force gets none."""
    return not already_in_force


def consent_problems(kind: ConsentKind, form: ConsentForm, given_at: datetime,
                     evidence: EvidenceKind | None, now: datetime) -> list[str]:
    """Why a consent cannot be recorded (empty when it can).

    A written consent needs its writing: a signed form or an e-signature record
    (64.1200(f)(9); the E-SIGN Act makes an electronic signature a signature). A verbal
    consent's evidence, if any, is a recording. A consent cannot be dated in the future.
    """
    problems: list[str] = []
    if given_at.tzinfo is None:
        problems.append("given_at needs a time zone")
    elif given_at > now + CLOCK_SKEW:
        problems.append("given_at is in the future")
    if form is ConsentForm.WRITTEN and evidence not in WRITTEN_EVIDENCE:
        problems.append("a written consent needs a signed form or an e-signature record")
    if form is ConsentForm.VERBAL and evidence not in (None, EvidenceKind.VERBAL_RECORDING):
        problems.append("a verbal consent's evidence is a recording reference")
    if kind not in set(ConsentKind):
        problems.append("unknown consent kind")
    return problems


#: How far along a contact's outcome is. Callbacks come more than once and out of order: an
#: outcome only replaces one of a lower rank (a late "sent" never undoes "delivered", a
#: call's final "answered" never undoes the conversation's "confirmed").
OUTCOME_RANK: dict[str, int] = {
    "queued": 0, "placed": 0,
    "sent": 1, "answered": 1, "voicemail": 1,
    "delivered": 2, "undelivered": 2, "failed": 2, "cancelled": 2, "error": 2,
    "no_answer": 2, "busy": 2, "caller_hung_up": 2,
    "confirmed": 3, "opted_out": 4,
}


def outranks(outcome: str, current: str | None) -> bool:
    """Does ``outcome`` say more than ``current`` (the order above; unknown codes rank 0)?"""
    return current is None or OUTCOME_RANK.get(outcome, 0) > OUTCOME_RANK.get(current, 0)

"""The inbound-text reading, as a matrix: keywords, plain requests, unclear ones, negatives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carecall.consent import rules
from carecall.consent.model import InboundKind, OptOut, OptOutScope, OptOutSource
from carecall.consent.rules import (
    OPT_OUT_KEYWORDS,
    classify_inbound,
    in_force,
    lifted_by_opt_in,
    needs_confirmation,
    normalise,
)
from carecall.core.ids import new_id
from carecall.policy.model import Channel

K = InboundKind
KEYWORDS = ["STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT", "CANCEL", "REVOKE", "OPTOUT",
            "OPT OUT"]

MATRIX: list[tuple[str, InboundKind, str]] = [
    # the FCC's keywords, any case, punctuation and spaces around them ignored
    *[(k, K.OPT_OUT, "OPT_OUT_KEYWORD") for k in KEYWORDS],
    *[(f"  {k.lower()}!! ", K.OPT_OUT, "OPT_OUT_KEYWORD") for k in KEYWORDS],
    *[(f"...{k.title()}.", K.OPT_OUT, "OPT_OUT_KEYWORD") for k in KEYWORDS],
    ("opt-out", K.OPT_OUT, "OPT_OUT_KEYWORD"),
    ("Opt_Out", K.OPT_OUT, "OPT_OUT_KEYWORD"),
    ("\u201cStop\u201d", K.OPT_OUT, "OPT_OUT_KEYWORD"),
    ("\uff33\uff34\uff2f\uff30", K.OPT_OUT, "OPT_OUT_KEYWORD"),  # full-width letters (NFKC)
    ("stop all", K.OPT_OUT, "OPT_OUT_KEYWORD"),
    ("Stop please", K.OPT_OUT, "OPT_OUT_KEYWORD"),
    ("please STOP now", K.OPT_OUT, "OPT_OUT_KEYWORD"),
    ("stop stop", K.OPT_OUT, "OPT_OUT_KEYWORD"),
    ("Unsubscribe me", K.OPT_OUT, "OPT_OUT_KEYWORD"),
    ("quit it", K.OPT_OUT, "OPT_OUT_KEYWORD"),
    # plain-language requests
    ("please stop texting me", K.OPT_OUT, "OPT_OUT_PHRASE"),
    ("Stop calling me", K.OPT_OUT, "OPT_OUT_PHRASE"),
    ("stop sending me these messages", K.OPT_OUT, "OPT_OUT_PHRASE"),
    ("don't call me again", K.OPT_OUT, "OPT_OUT_PHRASE"),
    ("Don\u2019t text this number", K.OPT_OUT, "OPT_OUT_PHRASE"),
    ("do not contact me", K.OPT_OUT, "OPT_OUT_PHRASE"),
    ("never call me again!", K.OPT_OUT, "OPT_OUT_PHRASE"),
    ("take me off your list", K.OPT_OUT, "OPT_OUT_PHRASE"),
    ("Please remove my number from your list", K.OPT_OUT, "OPT_OUT_PHRASE"),
    ("remove me", K.OPT_OUT, "OPT_OUT_PHRASE"),
    ("lose my number", K.OPT_OUT, "OPT_OUT_PHRASE"),
    ("no more texts please", K.OPT_OUT, "OPT_OUT_PHRASE"),
    ("I want to opt out", K.OPT_OUT, "OPT_OUT_PHRASE"),
    ("opt me out", K.OPT_OUT, "OPT_OUT_KEYWORD"),
    ("I revoke my consent", K.OPT_OUT, "OPT_OUT_PHRASE"),
    ("cancel these reminders", K.OPT_OUT, "OPT_OUT_PHRASE"),
    ("quit bothering me", K.OPT_OUT, "OPT_OUT_PHRASE"),
    # unclear: opt-out now, and a human confirms
    ("not interested", K.OPT_OUT_UNCLEAR, "UNCLEAR_NOT_INTERESTED"),
    ("Not interested, thanks", K.OPT_OUT_UNCLEAR, "UNCLEAR_NOT_INTERESTED"),
    ("wrong number", K.OPT_OUT_UNCLEAR, "UNCLEAR_WRONG_NUMBER"),
    ("You have the wrong person", K.OPT_OUT_UNCLEAR, "UNCLEAR_WRONG_NUMBER"),
    ("who is this? stop", K.OPT_OUT_UNCLEAR, "UNCLEAR_WHO_IS_THIS"),
    ("who's this", K.OPT_OUT_UNCLEAR, "UNCLEAR_WHO_IS_THIS"),
    ("how did you get my number", K.OPT_OUT_UNCLEAR, "UNCLEAR_WHO_IS_THIS"),
    ("leave me alone", K.OPT_OUT_UNCLEAR, "UNCLEAR_UNWANTED"),
    ("I'm not your patient", K.OPT_OUT_UNCLEAR, "UNCLEAR_UNWANTED"),
    ("I never signed up for this", K.NONE, "NO_CONSENT_CHANGE"),
    ("I didn't sign up for this", K.OPT_OUT_UNCLEAR, "UNCLEAR_UNWANTED"),
    ("don't stop reminding me", K.OPT_OUT_UNCLEAR, "UNCLEAR_NEGATED_STOP"),
    ("please do not stop the reminders", K.OPT_OUT_UNCLEAR, "UNCLEAR_NEGATED_STOP"),
    ("ok STOP what is this", K.OPT_OUT_UNCLEAR, "UNCLEAR_STOP_WORD"),
    ("I said stop", K.OPT_OUT_UNCLEAR, "UNCLEAR_STOP_WORD"),
    ("unsubscribe and delete", K.OPT_OUT, "OPT_OUT_PHRASE"),
    # opt in, help
    ("START", K.OPT_IN, "OPT_IN_KEYWORD"),
    (" unstop. ", K.OPT_IN, "OPT_IN_KEYWORD"),
    ("Help", K.HELP, "HELP_KEYWORD"),
    ("INFO?", K.HELP, "HELP_KEYWORD"),
    # everything else changes nothing
    ("", K.NONE, "EMPTY"),
    ("?!", K.NONE, "EMPTY"),
    ("Yes I will be there", K.NONE, "NO_CONSENT_CHANGE"),
    ("Thanks!", K.NONE, "NO_CONSENT_CHANGE"),
    ("I need help with my appointment", K.NONE, "NO_CONSENT_CHANGE"),
    ("I'll stop by the front desk tomorrow", K.NONE, "NO_CONSENT_CHANGE"),
    ("Should I stop taking my pills before the procedure?", K.NONE, "NO_CONSENT_CHANGE"),
    ("when do I stop eating before surgery", K.NONE, "NO_CONSENT_CHANGE"),
    ("I'm at the bus stop, running late", K.NONE, "NO_CONSENT_CHANGE"),
    ("see you at the end of the week", K.NONE, "NO_CONSENT_CHANGE"),
    ("cancel my appointment please", K.NONE, "NO_CONSENT_CHANGE"),
    ("I quit smoking!", K.NONE, "NO_CONSENT_CHANGE"),
    ("start time?", K.NONE, "NO_CONSENT_CHANGE"),
    ("stopped by yesterday", K.NONE, "NO_CONSENT_CHANGE"),
    ("Thanks for the reminder call", K.NONE, "NO_CONSENT_CHANGE"),
    ("stop by to pick up your reminder card", K.NONE, "NO_CONSENT_CHANGE"),
]


@pytest.mark.parametrize(("text", "kind", "reason"), MATRIX)
def test_inbound_matrix(text: str, kind: InboundKind, reason: str) -> None:
    result = classify_inbound(text)
    assert (result.kind, result.reason) == (kind, reason), text


def test_keywords_name_themselves() -> None:
    assert classify_inbound("opt out").keyword == "OPTOUT"
    assert classify_inbound("Stop.").keyword == "STOP"
    assert classify_inbound("start").scope is OptOutScope.TEXTS
    assert classify_inbound("please stop texting me").keyword is None


def test_every_fcc_keyword_is_listed() -> None:
    assert {k.lower() for k in KEYWORDS} <= set(OPT_OUT_KEYWORDS)


_PUNCT = st.text(alphabet=" \t\n.,!?;:-\"'()*", max_size=6)


@given(st.sampled_from(KEYWORDS), st.lists(st.booleans(), min_size=12, max_size=12), _PUNCT,
       _PUNCT)
def test_keyword_any_case_any_surrounding_punctuation(
    keyword: str, upper: list[bool], before: str, after: str
) -> None:
    cased = "".join(c.upper() if u else c.lower() for c, u in zip(keyword, upper, strict=False))
    cased += keyword[len(upper):].lower()
    result = classify_inbound(before + cased + after)
    assert result.kind is InboundKind.OPT_OUT
    assert result.reason == "OPT_OUT_KEYWORD"


@given(st.text(max_size=80))
def test_classifier_is_total(text: str) -> None:
    assert classify_inbound(text).kind in set(InboundKind)


def test_normalise() -> None:
    assert normalise("  Don\u2019t   CALL!! ") == "don't call"
    assert normalise("opt_out") == "opt out"


NOW = datetime(2026, 11, 23, 15, tzinfo=UTC)


def _opt_out(at: datetime, lifted: datetime | None = None,
             channel: Channel = Channel.SMS, scope: OptOutScope = OptOutScope.ALL) -> OptOut:
    return OptOut(new_id(), "+16175550142", None, channel, scope, OptOutSource.SMS_KEYWORD,
                  "OPT_OUT_KEYWORD", at, lifted)


def test_in_force_edges() -> None:
    second = timedelta(seconds=1)
    assert in_force([_opt_out(NOW - second)], NOW)
    assert in_force([_opt_out(NOW)], NOW)  # at now: in force
    assert not in_force([_opt_out(NOW + second)], NOW)
    assert not in_force([_opt_out(NOW - second, lifted=NOW)], NOW)
    assert in_force([_opt_out(NOW - second, lifted=NOW + second)], NOW)


def test_start_lifts_only_text_opt_outs() -> None:
    assert lifted_by_opt_in(_opt_out(NOW))
    assert not lifted_by_opt_in(_opt_out(NOW, channel=Channel.VOICE))
    assert not lifted_by_opt_in(_opt_out(NOW, scope=OptOutScope.CALLS))


def test_one_confirmation_per_opt_out() -> None:
    assert needs_confirmation(already_in_force=False)
    assert not needs_confirmation(already_in_force=True)


# -- contact outcomes only move forward -----------------------------------------------------


@pytest.mark.parametrize("outcome", sorted(rules.OUTCOME_RANK))
def test_any_outcome_replaces_none_and_never_itself(outcome: str) -> None:
    assert rules.outranks(outcome, None)
    assert not rules.outranks(outcome, outcome)


@pytest.mark.parametrize(("late", "current"), [
    ("sent", "delivered"), ("queued", "sent"), ("answered", "confirmed"),
    ("completed", "confirmed"), ("confirmed", "opted_out"), ("delivered", "opted_out"),
    ("no_answer", "undelivered"), ("mystery", "queued"),
])
def test_a_late_or_lesser_outcome_changes_nothing(late: str, current: str) -> None:
    assert not rules.outranks(late, current)


@pytest.mark.parametrize(("outcome", "current"), [
    ("delivered", "sent"), ("undelivered", "sent"), ("sent", "queued"),
    ("confirmed", "answered"), ("opted_out", "confirmed"), ("opted_out", "delivered"),
    ("answered", "placed"), ("no_answer", "placed"),
])
def test_an_outcome_that_says_more_replaces_the_current_one(outcome: str, current: str) -> None:
    assert rules.outranks(outcome, current)


def test_outranking_is_a_strict_order_over_every_pair() -> None:
    codes = sorted(rules.OUTCOME_RANK)
    for a in codes:
        for b in codes:
            assert not (rules.outranks(a, b) and rules.outranks(b, a))
            assert rules.outranks(a, b) == (rules.OUTCOME_RANK[a] > rules.OUTCOME_RANK[b])

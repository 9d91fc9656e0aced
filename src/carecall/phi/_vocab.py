"""Word lists the detector's rules share: function words, acronyms, units, street words.

Hand-picked for call-centre speech; each list says what it stops or starts. Lists used by one
rule only live beside that rule.
"""

from __future__ import annotations


def words(text: str) -> frozenset[str]:
    return frozenset(text.split())


FUNCTION = words(
    """
    a an the and or but of to in on at for from with by about as is are was were be been
    am i you he she it we they me him her us them my your his its our their this that
    these those yes no not yeah ok okay so um uh er please thanks thank just also too
    very really well calling call here there what when where who how why which can could
    would should will may might must do does did have has had get got need want like
    know think and sure hi hello bye speak speaking talk name it's i'm that's on up out
    over again still said says told tells asked gave sent wrote prescribed wants wanted
    called here there now then today
    """
)
"""Words that never start or continue a name or a place."""

ACRONYMS = words(
    """
    icu atm mri ekg ecg cpr usa ent ptsd copd adhd hiv std uti ibs gerd cbc tsa ups dmv rsv
    aids nyc pcp obgyn ob gyn dna faq asap ssi ssdi hmo ppo aarp cvs abc ira irs usps mrn ssn
    dob mbi npi cgm vin bmi mrsa ivf iud pt ot cpap bipap ada hipaa llc inc
    """
)
"""Letter groups that are words of the conversation, not identifiers or spelled names."""

UNITS_AFTER = words(
    """
    mg milligram milligrams mcg microgram micrograms ml milliliter milliliters cc gram
    grams g unit units iu pill pills tablet tablets tab tabs capsule capsules cap caps
    dose doses drop drops puff puffs refill refills shot shots injection injections
    minute minutes min mins hour hours hr hrs day days week weeks month months year
    years yrs time times dollar dollars buck bucks cent cents percent pound pounds lb
    lbs kilo kilos kg degree degrees am pm a p o'clock oclock feet foot inch inches mile
    miles step steps beats bpm calorie calories ounce ounces oz cups cup glasses
    sessions visits people kids children patients copay each a.m. p.m. o
    """
)
"""A number followed by one of these is an amount, a dose or a time, not an identifier."""

BEFORE_NOT_ID = frozenset(
    {"press", "option", "dial", "pressure", "over", "about", "take", "takes", "taking", "took",
     "$", "at", "around", "by", "until", "til", "till", "after", "before", "since", "from",
     "every", "each", "room", "floor", "level", "step", "page", "number", "stage", "type",
     "grade", "size", "temperature", "temp", "weight", "weigh", "weighs", "sugar", "glucose",
     "pulse", "rate", "oxygen", "a1c", "score", "ago", "last", "past", "next", "for", "above",
     "below", "under", "than", "between", "exceeds", "hits", "model", "version", "series"}
)
"""A short number after one of these is a menu choice, a time or a measure."""

TLDS = words("com net org edu gov io us co info biz health app me ai care clinic online site tv ly"
             " example")
EMAIL_JOIN = {"dot": ".", "underscore": "_", "dash": "-", "hyphen": "-", ".": ".", "_": "_",
              "-": "-"}
"""Spoken and written joiners inside e-mail and web addresses."""

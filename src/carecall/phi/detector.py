"""The PHI detector: rules over one tokenisation, tuned for call-centre speech-to-text.

Why rules and not a model: the identifiers in a call are said in a handful of forms (digits in
groups, dates, spelled names, "dot" and "at"), the cues before them are few, and a rule can
explain itself to a privacy officer. No network and no model download, so it starts in well
under a second and reads thousands of lines a second.

Each kind of identifier has its own module (``_web``, ``_ids``, ``_dates``, ``_addresses``,
``_numbers``, ``_names``, ``_employers``); they add candidates to one ``Scan`` of the line and
``_resolve`` keeps the best non-overlapping ones. The order below matters only for names,
which are looked for last, among the words nothing else claimed.
"""

from __future__ import annotations

from carecall.phi import _addresses, _dates, _employers, _ids, _names, _numbers, _web, cues, lexicon
from carecall.phi._resolve import resolve
from carecall.phi._scan import Scan
from carecall.phi.model import DetectContext, Label, Span
from carecall.phi.spoken import FILLERS, tokenize


class PhiDetector:
    """Created once per process; ``detect`` is pure and thread-safe."""

    def __init__(self) -> None:
        self._lex = lexicon.load()

    def detect(self, text: str, context: DetectContext | None = None) -> list[Span]:
        ctx = context or DetectContext()
        # fillers ("uh", "um") are dropped from the words the rules read, so a value said
        # around one ("seventy three uh fifty four willow court", "priya um fitzgerald") is
        # read whole; the offsets are the tokens' own, so a span still covers the filler
        toks = [tok for tok in tokenize(text) if tok.norm not in FILLERS]
        scan = Scan(text, toks, cues.agent_asks(ctx.previous_agent_text), ctx.known, self._lex)
        _web.formatted(scan)
        _ids.formatted(scan)
        _web.spoken(scan)
        _web.spoken_ips(scan)
        _ids.spoken(scan)
        _dates.dates(scan)
        _addresses.addresses(scan)
        _numbers.numbers(scan)
        _ids.spelled(scan)
        _names.names(scan)
        _employers.employers(scan)
        _device_line(scan)
        return resolve(text, scan.found)


_DEVICE_NOUNS = frozenset({"machine", "barcode", "concentrator", "serial", "device", "unit"})


def _device_line(scan: Scan) -> None:
    """On a line about a device and no other kind of identifier ("the number on the oxygen
    concentrator is r s four five..."), an identifier no cue named is the device's."""
    if not any(f.label is Label.OTHER_ID for f in scan.found):
        return
    said = cues.all_cues(scan.text.lower())
    if Label.OTHER_ID in said or not (Label.DEVICE_ID in said or not _DEVICE_NOUNS.isdisjoint(
            scan.norms)):
        return
    for f in scan.found:
        if f.label is Label.OTHER_ID:
            f.label = Label.DEVICE_ID

"""Redaction of PHI from call recordings: silence or beep every PHI word, streaming.

A recording is kept only if a QA reviewer can listen to it without hearing identifiers
(45 CFR 164.514(b)(2): the Safe Harbor identifiers). Speech-to-text gives word timings; the
detector marks which words are PHI; this module turns them into time ranges, widens each by
a padding (default 250 ms a side, because word timings from speech-to-text are rarely exact
to the sample) and overwrites those samples.

Telephony recordings are 8 kHz G.711 mu-law or 16 kHz 16-bit PCM WAV. The stdlib ``wave``
module rejects mu-law (format tag 7) and ``audioop`` is deprecated, so the RIFF header and the
mu-law code are read here. The output keeps the input's header bytes verbatim (same format,
same chunks, same length); only sample values change. Memory is constant: the data chunk is
processed ``chunk_frames`` at a time.

When word timings cannot be matched to the transcript, ``phi_time_ranges`` raises instead of
guessing: a caller who cannot place PHI in time must redact the whole recording.
"""

from __future__ import annotations

import math
import struct
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Literal, Protocol

from carecall.core.errors import InvalidInput

Mode = Literal["silence", "beep"]

PCM = 1
MULAW = 7
EXTENSIBLE = 0xFFFE
_UNKNOWN_SIZE = (0, 0xFFFFFFFF)  # streaming writers leave the data size unset
MULAW_SILENCE = 0xFF  # G.711 mu-law code for 0
BEEP_HZ = 1000.0
BEEP_AMPLITUDE = 0.25  # of full scale: audible, not painful


@dataclass(frozen=True, slots=True)
class WavFormat:
    encoding: Literal["pcm16", "mulaw"]
    sample_rate: int
    channels: int

    @property
    def block_align(self) -> int:
        return self.channels * (2 if self.encoding == "pcm16" else 1)


@dataclass(frozen=True, slots=True)
class WavHeader:
    """Everything before the samples, kept byte for byte, and where the samples end."""

    format: WavFormat
    raw: bytes
    data_size: int | None  # None: read to end of file


def _read_exact(src: BinaryIO, n: int) -> bytes:
    data = src.read(n)
    if len(data) != n:
        raise InvalidInput("recording is not a complete WAV file; upload the whole file")
    return data


def _parse_fmt(body: bytes) -> WavFormat:
    if len(body) < 16:
        raise InvalidInput("WAV fmt chunk is too short; re-export the recording")
    tag, channels, rate, _byte_rate, _align, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == EXTENSIBLE and len(body) >= 26:
        tag = struct.unpack("<H", body[24:26])[0]  # first two bytes of the sub-format GUID
    if channels < 1 or rate < 1:
        raise InvalidInput("WAV header has no channels or no sample rate; re-export it")
    if tag == PCM and bits == 16:
        return WavFormat("pcm16", rate, channels)
    if tag == MULAW and bits == 8:
        return WavFormat("mulaw", rate, channels)
    raise InvalidInput(
        f"unsupported WAV encoding (format tag {tag}, {bits} bits); "
        "convert to 16-bit PCM or 8-bit mu-law")


def read_header(src: BinaryIO) -> WavHeader:
    """Read up to the first sample of the data chunk, keeping the bytes to copy them out."""
    riff = src.read(12)
    if len(riff) != 12 or riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":
        raise InvalidInput("recording is not a WAV file; send RIFF/WAVE audio")
    raw = bytearray(riff)
    fmt: WavFormat | None = None
    while True:
        head = src.read(8)
        if len(head) != 8:
            raise InvalidInput("WAV file has no data chunk; re-export the recording")
        raw += head
        cid, size = head[:4], struct.unpack("<I", head[4:])[0]
        if cid == b"data":
            if fmt is None:
                raise InvalidInput("WAV data comes before its fmt chunk; re-export it")
            return WavHeader(fmt, bytes(raw), None if size in _UNKNOWN_SIZE else size)
        if size > 1 << 20:
            raise InvalidInput("WAV header chunk is implausibly large; re-export it")
        body = _read_exact(src, size + (size & 1))  # chunks are word aligned
        raw += body
        if cid == b"fmt ":
            fmt = _parse_fmt(body[:size])


# ------------------------------------------------------------------------------- mu-law

def _mulaw_decode(code: int) -> int:
    u = ~code & 0xFF
    magnitude = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return (0x84 - magnitude) if u & 0x80 else (magnitude - 0x84)


MULAW_TO_LINEAR: tuple[int, ...] = tuple(_mulaw_decode(c) for c in range(256))


def mulaw_encode(sample: int) -> int:
    """G.711 mu-law code of one 16-bit linear sample."""
    sign = 0x80 if sample < 0 else 0
    magnitude = min(abs(sample), 32635) + 0x84
    exponent = max(0, magnitude.bit_length() - 8)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


# ------------------------------------------------------------------------------- ranges

def frame_ranges(spans: Iterable[tuple[float, float]], padding_s: float, rate: int,
                 total_frames: int | None = None) -> list[tuple[int, int]]:
    """Padded, merged, sorted frame ranges ``[start, end)`` covering every span."""
    if padding_s < 0 or not math.isfinite(padding_s):
        raise InvalidInput("padding must be a non-negative number of seconds")
    ranges: list[tuple[int, int]] = []
    for start_s, end_s in spans:
        if not (math.isfinite(start_s) and math.isfinite(end_s)) or end_s < start_s:
            raise InvalidInput("each PHI time range needs start <= end, in seconds")
        first = max(0, math.floor((start_s - padding_s) * rate))
        last = math.ceil((end_s + padding_s) * rate)
        if total_frames is not None:
            last = min(last, total_frames)
        if last > first:
            ranges.append((first, last))
    ranges.sort()
    merged: list[tuple[int, int]] = []
    for first, last in ranges:
        if merged and first <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def _beep(fmt: WavFormat, first: int, last: int) -> bytes:
    """Beep samples for frames ``[first, last)``; phase follows the absolute frame index."""
    step = 2 * math.pi * BEEP_HZ / fmt.sample_rate
    amp = BEEP_AMPLITUDE * 32767
    values = [round(amp * math.sin(step * f)) for f in range(first, last)]
    if fmt.channels > 1:
        values = [v for v in values for _ in range(fmt.channels)]
    if fmt.encoding == "mulaw":
        return bytes(mulaw_encode(v) for v in values)
    samples = array("h", values)
    if samples.itemsize != 2:  # pragma: no cover - every CPython platform has 2-byte "h"
        raise InvalidInput("platform lacks 16-bit samples")
    if struct.pack("=h", 1) != struct.pack("<h", 1):  # pragma: no cover - big-endian host
        samples.byteswap()
    return samples.tobytes()


def _overwrite(buf: bytearray, fmt: WavFormat, buf_first: int, span: tuple[int, int],
               mode: Mode) -> None:
    first, last = span
    a = (first - buf_first) * fmt.block_align
    b = (last - buf_first) * fmt.block_align
    if mode == "beep":
        buf[a:b] = _beep(fmt, first, last)
    elif fmt.encoding == "mulaw":
        buf[a:b] = bytes([MULAW_SILENCE]) * (b - a)
    else:
        buf[a:b] = bytes(b - a)


def redact_audio(src: BinaryIO, dst: BinaryIO, spans: Sequence[tuple[float, float]], *,
                 padding_s: float = 0.25, mode: Mode = "silence",
                 chunk_frames: int = 8192) -> int:
    """Copy a WAV recording from ``src`` to ``dst`` with every span (seconds) silenced or beeped.

    Returns the number of frames overwritten. ``spans`` are PHI word times; each is widened by
    ``padding_s`` on both sides and clipped to the recording.
    """
    if mode not in ("silence", "beep"):
        raise InvalidInput("mode must be 'silence' or 'beep'")
    if chunk_frames < 1:
        raise InvalidInput("chunk_frames must be at least 1")
    header = read_header(src)
    fmt = header.format
    align = fmt.block_align
    total = None if header.data_size is None else header.data_size // align
    ranges = frame_ranges(spans, padding_s, fmt.sample_rate, total)
    dst.write(header.raw)
    remaining = header.data_size
    frame = 0
    ri = 0
    redacted = 0
    carry = b""  # a partial frame left by a short read
    while remaining is None or remaining > 0:
        want = chunk_frames * align - len(carry)
        if remaining is not None:
            want = min(want, remaining)
        data = src.read(want)
        if not data:
            if remaining is not None:
                raise InvalidInput("WAV data chunk is shorter than its header says")
            break
        if remaining is not None:
            remaining -= len(data)
        buf = bytearray(carry + data)
        whole = len(buf) - len(buf) % align
        carry = bytes(buf[whole:])
        del buf[whole:]
        n = whole // align
        end = frame + n
        while ri < len(ranges) and ranges[ri][1] <= frame:
            ri += 1
        j = ri
        while j < len(ranges) and ranges[j][0] < end:
            first, last = max(ranges[j][0], frame), min(ranges[j][1], end)
            _overwrite(buf, fmt, frame, (first, last), mode)
            redacted += last - first
            j += 1
        dst.write(buf)
        frame = end
    dst.write(carry)
    # Chunks after the data chunk (LIST, id3...) are copied as they are.
    while tail := src.read(1 << 16):
        dst.write(tail)
    return redacted


# ------------------------------------------------------------------------------- words

@dataclass(frozen=True, slots=True)
class WordTiming:
    """One recognised word and when it was spoken, as speech-to-text reports it."""

    word: str
    start_s: float
    end_s: float


class _HasOffsets(Protocol):
    @property
    def start(self) -> int: ...

    @property
    def end(self) -> int: ...


def align_words(text: str, words: Sequence[WordTiming]) -> list[tuple[int, int]]:
    """Character offsets of each word in ``text``, found in order (case-insensitive)."""
    lowered = text.lower()
    pos = 0
    offsets: list[tuple[int, int]] = []
    for w in words:
        token = w.word.strip().lower()
        if not token:
            offsets.append((pos, pos))
            continue
        at = lowered.find(token, pos)
        if at < 0:
            raise InvalidInput(
                "word timings do not match the transcript text; redact the whole recording")
        offsets.append((at, at + len(token)))
        pos = at + len(token)
    return offsets


def phi_time_ranges(text: str, words: Sequence[WordTiming],
                    spans: Iterable[_HasOffsets]) -> list[tuple[float, float]]:
    """Time ranges of every word that overlaps a detector span on the transcript ``text``."""
    offsets = align_words(text, words)
    marked = [(s.start, s.end) for s in spans]
    out: list[tuple[float, float]] = []
    for (a, b), w in zip(offsets, words, strict=True):
        if any(a < e and s < b for s, e in marked):
            out.append((w.start_s, w.end_s))
    return out

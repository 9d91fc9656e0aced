"""Audio redaction: no PHI word stays audible, little else is lost, formats are preserved.

The speech tests synthesise each word with espeak-ng and lay the words end to end with known
gaps, so every word's time is exact; sox converts to the telephony formats. Both are system
packages (``apt-get install -y espeak-ng sox``); the tests fail, not skip, without them.
"""

from __future__ import annotations

import io
import itertools
import math
import random
import shutil
import struct
import subprocess
import tracemalloc
import wave
from dataclasses import dataclass
from pathlib import Path

import pytest

from carecall.core.errors import InvalidInput
from carecall.phi.audio import (
    MULAW_TO_LINEAR,
    WordTiming,
    align_words,
    frame_ranges,
    mulaw_encode,
    phi_time_ranges,
    read_header,
    redact_audio,
)

SENTENCE = ("my name is margaret kowalski and my date of birth is march third nineteen "
            "eighty two and my phone is five five five oh one four two thank you")
PHI = ["margaret kowalski", "march third nineteen eighty two", "five five five oh one four two"]
GAP_S = 0.12
SYNTH_RATE = 22050


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is required for the audio tests: apt-get install -y espeak-ng sox")
    return path


def pcm_samples(data: bytes) -> list[int]:
    return list(struct.unpack(f"<{len(data) // 2}h", data))


def decode(path_or_bytes: bytes) -> tuple[int, str, list[int], bytes]:
    """(rate, encoding, linear samples, header bytes) of a mono WAV."""
    header = read_header(io.BytesIO(path_or_bytes))
    data = path_or_bytes[len(header.raw):]
    if header.data_size is not None:
        data = data[: header.data_size]
    fmt = header.format
    samples = ([MULAW_TO_LINEAR[b] for b in data] if fmt.encoding == "mulaw"
               else pcm_samples(data))
    return fmt.sample_rate, fmt.encoding, samples, header.raw


def trim(samples: list[int], threshold: int = 200) -> list[int]:
    loud = [i for i, s in enumerate(samples) if abs(s) > threshold]
    return samples[loud[0]: loud[-1] + 1] if loud else samples


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The sentence as 16 kHz PCM and 8 kHz mu-law WAVs, with exact word timings."""
    espeak, sox = need("espeak-ng"), need("sox")
    tmp = tmp_path_factory.mktemp("speech")
    all_samples: list[int] = []
    words: list[WordTiming] = []
    gap = [0] * int(GAP_S * SYNTH_RATE)
    all_samples += gap
    for i, word in enumerate(SENTENCE.split()):
        out = tmp / f"w{i}.wav"
        subprocess.run([espeak, "-s", "165", "-w", str(out), word], check=True)
        with wave.open(str(out), "rb") as w:
            assert w.getframerate() == SYNTH_RATE
            assert w.getsampwidth() == 2
            samples = trim(pcm_samples(w.readframes(w.getnframes())))
        start = len(all_samples) / SYNTH_RATE
        all_samples += samples
        words.append(WordTiming(word, start, len(all_samples) / SYNTH_RATE))
        all_samples += gap
    src = tmp / "sentence.wav"
    with wave.open(str(src), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SYNTH_RATE)
        w.writeframes(struct.pack(f"<{len(all_samples)}h", *all_samples))
    pcm16 = tmp / "pcm16k.wav"
    mulaw = tmp / "mulaw8k.wav"
    subprocess.run([sox, str(src), "-r", "16000", "-b", "16", "-e", "signed-integer",
                    str(pcm16)], check=True)
    subprocess.run([sox, str(src), "-r", "8000", "-e", "mu-law", str(mulaw)], check=True)
    return {"words": words, "pcm16": pcm16.read_bytes(), "mulaw": mulaw.read_bytes()}


def phi_word_intervals(words: list[WordTiming]) -> list[tuple[float, float]]:
    spans = [Span(SENTENCE.index(p), SENTENCE.index(p) + len(p)) for p in PHI]
    return phi_time_ranges(SENTENCE, words, spans)


def rms(samples: list[int]) -> float:
    return math.sqrt(sum(s * s for s in samples) / len(samples)) if samples else 0.0


@pytest.mark.parametrize("fmt_key", ["pcm16", "mulaw"])
def test_speech_phi_words_are_silenced_and_over_redaction_is_bounded(
    speech: dict[str, object], fmt_key: str
) -> None:
    words = speech["words"]
    assert isinstance(words, list)
    original = speech[fmt_key]
    assert isinstance(original, bytes)
    phi_times = phi_word_intervals(words)
    assert len(phi_times) == sum(len(p.split()) for p in PHI)

    out = io.BytesIO()
    redact_audio(io.BytesIO(original), out, phi_times, chunk_frames=1000)
    rate, _enc, before, head_before = decode(original)
    _, _, after, head_after = decode(out.getvalue())
    assert head_after == head_before
    assert len(out.getvalue()) == len(original)
    assert len(after) == len(before)

    phi_frames: set[int] = set()
    for start_s, end_s in phi_times:
        frames = range(math.floor(start_s * rate), math.ceil(end_s * rate))
        assert rms([before[f] for f in frames]) > 300, "PHI word was not audible to begin with"
        phi_frames.update(frames)
    unredacted_phi = [f for f in phi_frames if f < len(after) and after[f] != 0]
    assert unredacted_phi == [], f"{len(unredacted_phi) / rate:.3f} s of PHI still audible"

    redacted = {f for a, b in frame_ranges(phi_times, 0.25, rate, len(before))
                for f in range(a, b)}
    changed_outside = [f for f in range(len(before)) if f not in redacted
                       and after[f] != before[f]]
    assert changed_outside == []
    over_s = len(redacted - phi_frames) / rate
    phi_s = len(phi_frames) / rate
    assert over_s <= 2 * phi_s, (over_s, phi_s)

    # the words around the PHI are still there to listen to
    for w in words:
        if w.word in {"name", "date", "thank"}:
            frames = range(math.floor(w.start_s * rate), math.ceil(w.end_s * rate))
            kept = [after[f] for f in frames if f not in redacted]
            assert rms(kept) > 300


def test_speech_beep_mode_replaces_phi_with_a_tone(speech: dict[str, object]) -> None:
    words = speech["words"]
    assert isinstance(words, list)
    original = speech["mulaw"]
    assert isinstance(original, bytes)
    phi_times = phi_word_intervals(words)
    out = io.BytesIO()
    redact_audio(io.BytesIO(original), out, phi_times, mode="beep", chunk_frames=333)
    rate, _, _before, _ = decode(original)
    _, _, after, _ = decode(out.getvalue())
    start_s, end_s = phi_times[0]
    seg = after[math.floor(start_s * rate): math.ceil(end_s * rate)]
    crossings = sum(1 for a, b in itertools.pairwise(seg) if (a < 0) != (b < 0))
    freq = crossings / 2 / (len(seg) / rate)
    assert 900 < freq < 1100
    assert 5000 < rms(seg) < 7000  # 0.25 of full scale, sine: 32767 * 0.25 / sqrt(2)


# ------------------------------------------------------------------ generated signals


def pcm_wav(samples: list[int], rate: int = 16000, channels: int = 1) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(struct.pack(f"<{len(samples)}h", *samples))
    return buf.getvalue()


def noise(n: int, seed: int = 7) -> list[int]:
    rng = random.Random(seed)
    return [rng.randint(-12000, 12000) or 1 for _ in range(n)]


def test_pcm16_noise_exact_frames_silenced() -> None:
    rate = 16000
    src = pcm_wav(noise(rate * 2))
    out = io.BytesIO()
    n = redact_audio(io.BytesIO(src), out, [(0.5, 0.7)], padding_s=0.25, chunk_frames=777)
    _, _, before, _ = decode(src)
    _, _, after, _ = decode(out.getvalue())
    lo, hi = int(0.25 * rate), int(0.95 * rate)
    assert n == hi - lo
    assert all(s == 0 for s in after[lo:hi])
    assert after[:lo] == before[:lo]
    assert after[hi:] == before[hi:]


def test_chunk_size_does_not_change_output() -> None:
    src = pcm_wav(noise(16000 * 3, seed=3))
    spans = [(0.1, 0.2), (0.15, 0.9), (2.5, 2.6), (2.95, 4.0)]
    outs = set()
    for chunk in (1, 37, 4096, 1 << 20):
        out = io.BytesIO()
        redact_audio(io.BytesIO(src), out, spans, chunk_frames=chunk)
        outs.add(out.getvalue())
    assert len(outs) == 1


def test_stereo_pcm_redacts_both_channels() -> None:
    src = pcm_wav(noise(16000 * 2), channels=2)  # one second, interleaved
    out = io.BytesIO()
    redact_audio(io.BytesIO(src), out, [(0.4, 0.5)], padding_s=0.0)
    _, _, after, _ = decode(out.getvalue())
    assert all(s == 0 for s in after[2 * 6400: 2 * 8000])
    assert after[2 * 6400 - 1] != 0
    assert after[2 * 8000] != 0


def sox_mulaw_sine(tmp_path: Path, seconds: float = 2.0) -> bytes:
    sox = need("sox")
    path = tmp_path / "sine.wav"
    subprocess.run([sox, "-n", "-r", "8000", "-e", "mu-law", str(path), "synth",
                    str(seconds), "sine", "440", "vol", "0.5"], check=True)
    return path.read_bytes()


def test_mulaw_8k_sine_silenced_and_header_kept(tmp_path: Path) -> None:
    src = sox_mulaw_sine(tmp_path)
    header = read_header(io.BytesIO(src))
    assert header.format.encoding == "mulaw"
    assert header.format.sample_rate == 8000
    out = io.BytesIO()
    redact_audio(io.BytesIO(src), out, [(1.0, 1.0)], padding_s=0.25)
    body_before = src[len(header.raw):]
    body_after = out.getvalue()[len(header.raw):]
    assert out.getvalue()[: len(header.raw)] == header.raw
    assert body_after[6000:10000] == b"\xff" * 4000
    assert body_after[:6000] == body_before[:6000]
    assert body_after[10000:] == body_before[10000:]
    # sox itself still reads the output as the same format and length
    check = tmp_path / "out.wav"
    check.write_bytes(out.getvalue())
    info = subprocess.run([need("sox"), "--i", str(check)], capture_output=True, text=True,
                          check=True).stdout
    assert "u-law" in info
    assert "8000" in info


def test_mulaw_codec_round_trip() -> None:
    for code in range(256):
        assert MULAW_TO_LINEAR[mulaw_encode(MULAW_TO_LINEAR[code])] == MULAW_TO_LINEAR[code]
    assert MULAW_TO_LINEAR[0xFF] == 0
    assert MULAW_TO_LINEAR[mulaw_encode(32767)] > 30000
    assert MULAW_TO_LINEAR[mulaw_encode(-32768)] < -30000


def test_streaming_keeps_memory_constant() -> None:
    rate = 16000
    src = pcm_wav([1000] * (rate * 60))  # one minute, ~1.9 MB
    spans = [(float(s), s + 0.3) for s in range(0, 60, 2)]
    tracemalloc.start()
    try:
        redact_audio(io.BytesIO(src), io.BytesIO(), spans, chunk_frames=4096)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # BytesIO output grows with the file; the redaction's own buffers must stay near one chunk
    assert peak < 2 * len(src) + 256 * 1024


def test_unknown_data_size_reads_to_end() -> None:
    src = bytearray(pcm_wav(noise(1600)))
    data_at = src.index(b"data")
    src[data_at + 4: data_at + 8] = b"\xff\xff\xff\xff"
    out = io.BytesIO()
    redact_audio(io.BytesIO(bytes(src)), out, [(0.0, 0.05)], padding_s=0.0)
    assert len(out.getvalue()) == len(src)
    assert out.getvalue()[data_at + 8: data_at + 8 + 1600] == bytes(1600)


# ------------------------------------------------------------------ bad input


def test_not_a_wav_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="not a WAV file"):
        redact_audio(io.BytesIO(b"ID3\x03 this is an mp3"), io.BytesIO(), [(0, 1)])


def test_unsupported_encoding_is_invalid_input() -> None:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(3)  # 24-bit PCM
        w.setframerate(16000)
        w.writeframes(bytes(300))
    with pytest.raises(InvalidInput, match=r"unsupported WAV encoding \(format tag 1, 24 bits\)"):
        redact_audio(io.BytesIO(buf.getvalue()), io.BytesIO(), [(0, 1)])


def test_truncated_data_is_invalid_input() -> None:
    src = pcm_wav(noise(1600))
    with pytest.raises(InvalidInput, match="shorter than its header"):
        redact_audio(io.BytesIO(src[:-100]), io.BytesIO(), [(0, 0.01)])


@pytest.mark.parametrize(("spans", "padding"), [([(1.0, 0.5)], 0.25), ([(0.0, 1.0)], -0.1),
                                                ([(float("nan"), 1.0)], 0.25)])
def test_bad_ranges_are_invalid_input(spans: list[tuple[float, float]], padding: float) -> None:
    with pytest.raises(InvalidInput):
        redact_audio(io.BytesIO(pcm_wav(noise(160))), io.BytesIO(), spans, padding_s=padding)


# ------------------------------------------------------------------ words to times


def test_phi_time_ranges_maps_spans_to_word_times() -> None:
    text = "Hi, this is Rosa Delgado, DOB 3/4/1950."
    words = [WordTiming(w, i * 1.0, i * 1.0 + 0.5) for i, w in
             enumerate(["hi", "this", "is", "rosa", "delgado", "dob", "3/4/1950"])]
    spans = [Span(12, 24), Span(30, 38)]
    assert phi_time_ranges(text, words, spans) == [(3.0, 3.5), (4.0, 4.5), (6.0, 6.5)]
    assert align_words(text, words)[3] == (12, 16)


def test_partial_overlap_marks_the_whole_word() -> None:
    text = "call kowalskis now"
    words = [WordTiming("call", 0, 1), WordTiming("kowalskis", 1, 2), WordTiming("now", 2, 3)]
    assert phi_time_ranges(text, words, [Span(5, 13)]) == [(1, 2)]


def test_words_not_in_transcript_fail_closed() -> None:
    words = [WordTiming("hello", 0, 1), WordTiming("world", 1, 2)]
    with pytest.raises(InvalidInput, match="redact the whole recording"):
        phi_time_ranges("hello there", words, [Span(0, 5)])

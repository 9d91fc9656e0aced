"""Benchmark: field encryption round trips and streaming throughput on one core.

Run: .venv/bin/python bench/crypto.py [--seconds 2] [--stream-mib 64]

Field: DataKey.seal + DataKey.open of a realistic PHI field (a 40-byte address line) with a
full FieldContext, against raw AESGCM encrypt + decrypt of the same size with a same-size
AAD (the anchor). Target: >= 100,000 round trips/s.
Streaming: encrypt_stream from one in-memory file to another, against raw one-shot AESGCM
over the same data. Target: >= 0.75 of raw.
Prints a markdown table with the date and machine.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from carecall.crypto.envelope import DataKey, FieldContext, encode_aad
from carecall.crypto.stream import decrypt_stream, encrypt_stream

FIELD = b"1200 Pennsylvania Avenue NW, Apt 4B, 205"  # 40 bytes, address-sized
FIELD_TARGET = 100_000
STREAM_TARGET = 0.75


def pin_one_core() -> str:
    try:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    except (AttributeError, OSError):
        return "not pinned"
    return "pinned to one core"


def rate(body: Callable[[], None], seconds: float, batch: int = 1000) -> float:
    """Operations per second of ``body`` over about ``seconds`` (best of three slices)."""
    best = 0.0
    for _ in range(3):
        count = 0
        start = time.perf_counter()
        deadline = start + seconds / 3
        while True:
            for _ in range(batch):
                body()
            count += batch
            now = time.perf_counter()
            if now >= deadline:
                break
        best = max(best, count / (now - start))
    return best


def field_rates(seconds: float) -> tuple[float, float]:
    key = DataKey(uuid.uuid4(), os.urandom(32))
    ctx = FieldContext(uuid.uuid4(), "patients", "address", uuid.uuid4())

    def ours() -> None:
        key.open(key.seal(FIELD, ctx), ctx)

    raw = AESGCM(os.urandom(32))
    aad = encode_aad(ctx, key.key_id)

    def anchor() -> None:
        nonce = os.urandom(12)
        raw.decrypt(nonce, raw.encrypt(nonce, FIELD, aad), aad)

    return rate(ours, seconds), rate(anchor, seconds)


def stream_rates(mib: int) -> tuple[float, float, float]:
    data = os.urandom(mib * 1024 * 1024)
    key = DataKey(uuid.uuid4(), os.urandom(32))
    ctx = FieldContext(uuid.uuid4(), "recordings", "audio", uuid.uuid4())
    raw = AESGCM(os.urandom(32))
    nonce = os.urandom(12)

    def timed(body: Callable[[], object]) -> float:
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            body()
            best = min(best, time.perf_counter() - start)
        return len(data) / best / 1e6

    raw_mbs = timed(lambda: raw.encrypt(nonce, data, None))
    ours_mbs = timed(lambda: encrypt_stream(key, ctx, io.BytesIO(data), io.BytesIO()))
    sealed = io.BytesIO()
    encrypt_stream(key, ctx, io.BytesIO(data), sealed)
    blob = sealed.getvalue()
    dec_mbs = timed(lambda: decrypt_stream(key, ctx, io.BytesIO(blob), io.BytesIO()))
    return ours_mbs, raw_mbs, dec_mbs


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--stream-mib", type=int, default=64)
    args = parser.parse_args()
    pinned = pin_one_core()
    ours, anchor = field_rates(args.seconds)
    enc, raw, dec = stream_rates(args.stream_mib)
    print(f"carecall crypto benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine: nproc={os.cpu_count()}, CPU: {cpu_model()}, Python "
          f"{platform.python_version()}, {pinned}")
    print()
    print("| measure | carecall | raw AES-GCM anchor | ratio | target | met |")
    print("| --- | ---: | ---: | ---: | --- | --- |")
    print(f"| field seal+open round trips/s ({len(FIELD)} B) | {ours:,.0f} | {anchor:,.0f} "
          f"| {ours / anchor:.2f} | >= {FIELD_TARGET:,}/s "
          f"| {'yes' if ours >= FIELD_TARGET else 'NO'} |")
    print(f"| streaming encrypt MB/s ({args.stream_mib} MiB, 64 KiB chunks) | {enc:,.0f} "
          f"| {raw:,.0f} | {enc / raw:.2f} | >= {STREAM_TARGET} x raw "
          f"| {'yes' if enc / raw >= STREAM_TARGET else 'NO'} |")
    print(f"| streaming decrypt MB/s | {dec:,.0f} | {raw:,.0f} | {dec / raw:.2f} "
          f"| (info) | |")


if __name__ == "__main__":
    main()

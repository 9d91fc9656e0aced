"""Where a call turn's time goes: cProfile over the webhook path, in-process and over HTTP.

    .venv/bin/python bench/calls/turn_profile.py [--pg postgresql://postgres@127.0.0.1:5432/]
        [--calls 40] [--mode inproc|http|both] [--top 25]

Sets up the demo practice in a scratch data dir (and scratch PostgreSQL database with --pg),
then drives the same scripted calls as ``bench/calls/run.py``, one turn at a time:

* ``inproc``: what the webhook route does, without HTTP: ``Params.parse`` of the form body,
  the SDK's signature check, ``channels.voice.inbound`` / ``gather`` (turn claim, engine,
  TwiML). The whole thing runs under cProfile and the time is split into the stages below
  (cumulative time of the named functions, so nested stages are counted in their own row and
  also in the row that contains them: "engine: take_turn" includes "redaction").
* ``http``: a real uvicorn server (the ``carecall serve`` configuration) in this process, with
  every thread profiled (``threading.setprofile`` + one cProfile per thread, merged); the
  client runs in a subprocess so its CPU does not count. Shows what the HTTP stack adds.

No dependency beyond the standard library and the project's own.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import multiprocessing
import os
import pstats
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import CARECALL, PRACTICE, _free_port, _pg_scratch, _scripts

#: (label, file suffix, function name): the stages of a turn, by the function that does it.
STAGES: list[tuple[str, str, str]] = [
    ("form parsing (Params.parse)", "signature.py", "parse"),
    ("signature check (RequestValidator)", "signature.py", "signature_valid"),
    ("tenant by number (inbound)", "service.py", "tenant_for_number"),
    ("voice leg insert (inbound)", "channels/store.py", "insert_leg"),
    ("turn claim, own transaction (before)", "channels/store.py", "claim_turn_deferred"),
    ("turn claim, in the turn (claim_turn)", "channels/store.py", "claim_turn"),
    ("engine: start_call", "calls/service.py", "start_call"),
    ("engine: take_turn", "calls/service.py", "take_turn"),
    ("  transaction begin/commit (Database.transaction)", "contextlib.py", "__exit__"),
    ("  session load + unseal (CallStore.load)", "calls/store.py", "load"),
    ("  state unseal (DataKey.open)", "envelope.py", "open"),
    ("  tenant load (load_tenant)", "tenants/service.py", "load_tenant"),
    ("  tenant, cached + fingerprint (tenant_in)", "calls/tenant_cache.py", "tenant_in"),
    ("  rule brain (respond)", "rule_brain.py", "respond"),
    ("  rule brain (open)", "rule_brain.py", "open"),
    ("  patient reads (CallTools)", "calls/tools.py", "_get"),
    ("  patient search (CallTools.find)", "calls/tools.py", "find"),
    ("  disclosure guard (_guard)", "calls/service.py", "_guard"),
    ("  caller redaction (_redacted)", "calls/service.py", "_redacted"),
    ("  agent redaction (_redacted_agent)", "calls/service.py", "_redacted_agent"),
    ("  PHI detector (PhiDetector.detect)", "phi/detector.py", "detect"),
    ("  state seal + save (CallStore.save)", "calls/store.py", "save"),
    ("  session insert (CallStore.insert_session)", "calls/store.py", "insert_session"),
    ("  state JSON (CallState.to_bytes)", "calls/state.py", "to_bytes"),
    ("  state JSON (CallState.from_bytes)", "calls/state.py", "from_bytes"),
    ("  data key lookups (Keyring.data_key_for)", "keyring.py", "data_key_for"),
    ("  data key lookups (Keyring.data_key_by_id)", "keyring.py", "data_key_by_id"),
    ("  transcript rows (CallStore.add_turn)", "calls/store.py", "add_turn"),
    ("  transcript rows (CallStore.add_turns)", "calls/store.py", "add_turns"),
    ("  events (CallStore.add_events)", "calls/store.py", "add_events"),
    ("  audit append", "audit/store.py", "append"),
    ("TwiML rendering (twiml.render)", "twiml.py", "render"),
    ("SQL execution (Session.execute)", "orm/session.py", "execute"),
    ("DBAPI execute (cursor.execute)", "", "<method 'execute' of 'sqlite3.Cursor' objects>"),
    ("DBAPI execute (psycopg Cursor.execute)", "psycopg/cursor.py", "execute"),
    ("COMMIT (DBAPI)", "", "<method 'commit' of 'sqlite3.Connection' objects>"),
    ("COMMIT (psycopg)", "psycopg/connection.py", "commit"),
]


def _setup(work: Path, url: str, port: int, token: str) -> dict[str, str]:
    env = {**os.environ, "CARECALL_DATA_DIR": str(work / "data"),
           "CARECALL_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
           "CARECALL_TWILIO_ACCOUNT_SID": "ACbench", "CARECALL_TWILIO_AUTH_TOKEN": token,
           "CARECALL_TWILIO_API_BASE": "http://127.0.0.1:9"}
    if url:
        env["CARECALL_DATABASE_URL"] = url
    else:
        env.pop("CARECALL_DATABASE_URL", None)
    subprocess.run([CARECALL, "demo", "--no-serve"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return env


def _calls(count: int) -> list[tuple[str, list[str]]]:
    scripts = _scripts()
    return [scripts[i % len(scripts)] for i in range(count)]


def _report(stats: pstats.Stats, turns: int, top: int, title: str) -> None:
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    print(f"\n## {title}: {turns} turns, per-turn cumulative time by stage (ms)\n")
    print("| stage | calls/turn | ms/turn |")
    print("| --- | ---: | ---: |")
    for label, suffix, name in STAGES:
        calls = 0
        cum = 0.0
        for (file, _line, func), (_cc, nc, _tt, ct, _callers) in raw.items():
            if func == name and (not suffix or file.replace("\\", "/").endswith(suffix)):
                calls += nc
                cum += ct
        if calls:
            print(f"| {label} | {calls / turns:.1f} | {cum * 1000 / turns:.2f} |")
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    stats.sort_stats("tottime").print_stats(top)
    print(f"\n### top {top} by own time\n\n```")
    print("\n".join(line for line in out.getvalue().splitlines()[6:] if line.strip()))
    print("```")


def inproc(env: dict[str, str], calls: int, top: int, *, profile: bool = True) -> None:
    os.environ.update(env)
    from twilio.request_validator import RequestValidator

    from carecall.app import open_app
    from carecall.channels import voice
    from carecall.channels.signature import Params, signature_valid
    from carecall.core.config import load_settings

    app = open_app(load_settings())
    token = env["CARECALL_TWILIO_AUTH_TOKEN"]
    signer = RequestValidator(token)
    base_url = env["CARECALL_PUBLIC_BASE_URL"]

    times: list[float] = []

    def webhook(path: str, params: dict[str, str], work: Callable[[Params], str]) -> str:
        url = base_url + path
        body = urlencode(params).encode()
        signature = signer.compute_signature(url, params)
        if profile:
            profiler.enable()
        began = time.perf_counter()
        try:
            parsed = Params.parse(body)
            assert signature_valid(token, url, parsed, signature)
            return work(parsed)
        finally:
            times.append((time.perf_counter() - began) * 1000)
            if profile:
                profiler.disable()

    profiler = cProfile.Profile()
    turns = 0
    started = time.perf_counter()
    for warm, (number, lines) in [(True, c) for c in _calls(2)] + [
            (False, c) for c in _calls(calls)]:
        if not warm and turns == 0:
            profiler = cProfile.Profile()
            times.clear()
            started = time.perf_counter()
        sid = "CA" + secrets.token_hex(16)
        common = {"CallSid": sid, "AccountSid": "ACbench", "From": number, "To": PRACTICE,
                  "Direction": "inbound", "ApiVersion": "2010-04-01"}
        webhook("/twilio/voice/inbound", {**common, "CallStatus": "ringing"},
                lambda p, sid=sid, number=number: voice.inbound(
                    app, call_sid=sid, from_number=number, to_number=PRACTICE))
        turns += 0 if warm else 1
        for t, line in enumerate(lines, start=1):
            webhook(f"/twilio/voice/gather?t={t}",
                    {**common, "SpeechResult": line, "Confidence": "0.92"},
                    lambda p, sid=sid, t=t: voice.gather(
                        app, call_sid=sid, turn=str(t),
                        given=voice.caller_input(p.first("SpeechResult"),
                                                 p.first("Confidence"), "")))
            turns += 0 if warm else 1
        voice.status(app, call_sid=sid, call_status="completed")
    elapsed = time.perf_counter() - started
    times.sort()
    print(f"\nin-process{' (profiled: slower than unprofiled)' if profile else ''}, "
          f"{app.db.dialect}: {turns} turns in {elapsed:.1f} s wall; webhook time per turn "
          f"mean {sum(times) / len(times):.2f} ms, p50 {times[len(times) // 2]:.2f} ms, "
          f"p99 {times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]:.2f} ms")
    if profile:
        _report(pstats.Stats(profiler), turns, top, f"in-process, {app.db.dialect}")
    app.close()


def _client(base: str, token: str, calls: int, done: Any) -> None:
    import httpx
    from twilio.request_validator import RequestValidator

    signer = RequestValidator(token)
    turns = 0
    with httpx.Client(timeout=30) as client:
        for number, lines in _calls(calls):
            sid = "CA" + secrets.token_hex(16)
            common = {"CallSid": sid, "AccountSid": "ACbench", "From": number,
                      "To": PRACTICE, "Direction": "inbound", "ApiVersion": "2010-04-01"}
            path = "/twilio/voice/inbound"
            params = {**common, "CallStatus": "ringing"}
            for t in range(len(lines) + 1):
                url = base + path
                headers = {"X-Twilio-Signature": signer.compute_signature(url, params),
                           "Content-Type": "application/x-www-form-urlencoded"}
                client.post(url, content=urlencode(params), headers=headers).raise_for_status()
                turns += 1
                if t < len(lines):
                    path = f"/twilio/voice/gather?t={t + 1}"
                    params = {**common, "SpeechResult": lines[t], "Confidence": "0.92"}
    with done.get_lock():
        done.value += turns


def _warm(app: Any, calls: int) -> None:
    """Drive a few calls directly so process-wide first-use costs (lexicons, statement
    caches, key caches) are paid before profiling starts."""
    from carecall.channels import voice

    for number, lines in _calls(calls):
        sid = "CA" + secrets.token_hex(16)
        voice.inbound(app, call_sid=sid, from_number=number, to_number=PRACTICE)
        for t, line in enumerate(lines, start=1):
            voice.gather(app, call_sid=sid, turn=str(t),
                         given=voice.caller_input(line, "0.92", ""))
        voice.status(app, call_sid=sid, call_status="completed")


def http(env: dict[str, str], port: int, calls: int, top: int, *, cpu: bool = False,
         concurrency: int = 1) -> None:
    os.environ.update(env)
    import uvicorn

    from carecall.app import open_app
    from carecall.cli.setup import serve_config
    from carecall.core.config import load_settings

    app = open_app(load_settings())
    _warm(app, 2)
    server = uvicorn.Server(serve_config(app, "127.0.0.1", port, log_level="warning"))
    profilers: list[cProfile.Profile] = []
    lock = threading.Lock()

    def per_thread(frame: Any, event: str, arg: Any) -> None:
        # First event in a new thread (the server's event loop, anyio's worker threads):
        # give the thread its own profiler.
        sys.setprofile(None)
        profiler = cProfile.Profile(time.thread_time) if cpu else cProfile.Profile()
        with lock:
            profilers.append(profiler)
        profiler.enable()

    threading.setprofile(per_thread)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    ctx = multiprocessing.get_context("spawn")
    done = ctx.Value("i", 0)
    started = time.perf_counter()
    procs = [ctx.Process(target=_client, args=(base, env["CARECALL_TWILIO_AUTH_TOKEN"],
                                               calls // concurrency, done))
             for _ in range(concurrency)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join()
    elapsed = time.perf_counter() - started
    threading.setprofile(None)  # type: ignore[arg-type]
    server.should_exit = True
    thread.join(10)
    turns = int(done.value)
    print(f"\nover HTTP: {turns} turns in {elapsed:.1f} s wall, {concurrency} client(s) "
          f"({turns / elapsed:.0f} turns/s profiled); {len(profilers)} threads profiled; "
          f"times are {'per-thread CPU' if cpu else 'wall'}")
    if not profilers or not turns:
        print("(nothing to report)")
        return
    stats = pstats.Stats(profilers[0])
    for p in profilers[1:]:
        stats.add(p)
    _report(stats, turns, top, f"over HTTP (all server threads), {app.db.dialect}")
    app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="", help="PostgreSQL server URL (scratch DB made here)")
    parser.add_argument("--calls", type=int, default=40, help="calls to profile (8 turns each)")
    parser.add_argument("--mode", choices=["inproc", "http", "both", "time"], default="inproc",
                        help="time: in-process, unprofiled, latency only")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--cpu", action="store_true",
                        help="http: profile per-thread CPU time instead of wall time")
    parser.add_argument("--concurrency", type=int, default=1, help="http: client processes")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-calls-profile-"))
    url = _pg_scratch(args.pg, create=True) if args.pg else ""
    try:
        port = _free_port()
        env = _setup(work, url, port, secrets.token_hex(16))
        if args.mode in ("inproc", "both", "time"):
            inproc(env, args.calls, args.top, profile=args.mode != "time")
        if args.mode in ("http", "both"):
            http(env, port, args.calls, args.top, cpu=args.cpu, concurrency=args.concurrency)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if args.pg:
            _pg_scratch(args.pg, create=False)


if __name__ == "__main__":
    main()

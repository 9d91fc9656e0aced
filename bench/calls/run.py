"""Calls benchmark: many concurrent simulated Twilio calls against a real ``carecall serve``.

    .venv/bin/python bench/calls/run.py [--pg postgresql://postgres@127.0.0.1:5432/]
        [--calls 40] [--rate 200 [20 ...]] [--seconds 20] [--skip-sqlite] [--workers N]
        [--no-max]

For each backend (SQLite always unless --skip-sqlite; PostgreSQL with --pg, in a scratch
database created and dropped here): ``carecall demo --no-serve`` sets up the demo practice,
then ``carecall serve [--workers N]`` runs in a subprocess. ``--calls`` simulated callers
drive the real
webhook path over loopback HTTP: the inbound-call webhook, then one signed ``<Gather>``
answer per turn (identity verification with the demo patients' real names and dates of
birth, an appointment question, declining recording), then the call status callback. Every
request carries an ``X-Twilio-Signature`` computed with the twilio SDK's RequestValidator.

Two runs per backend:
* paced: the callers together offer ``--rate`` turns per second (each caller sends its next
  turn on a fixed schedule, so a slow server does not lower the offered load);
* max: no pacing, as fast as the server answers, for the throughput ceiling.

Latency is measured server-side: the webhook router's ``Server-Timing: app;dur=`` header
(request reaching the route to response ready). "channel" is that minus ``engine;dur=`` (the
time inside the conversation engine): the Twilio adapter's own share (signature, turn claim,
TwiML). Client-side round trips are printed too.
A "turn" is one TwiML-returning webhook (inbound start or gather answer). "server CPU ms/turn"
is the CPU time (user + system) of the server's processes during the run divided by the turns
(from /proc; includes the status callbacks and any background work of the server).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from twilio.request_validator import RequestValidator

from carecall.demo.seed import demo_patients

ROOT = Path(__file__).resolve().parents[2]
CARECALL = str(ROOT / ".venv" / "bin" / "carecall")
PRACTICE = "+16175550199"
TIMING = re.compile(r"app;dur=([0-9.]+)")
ENGINE = re.compile(r"engine;dur=([0-9.]+)")
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]


def _tree_cpu(root: int) -> float:
    """CPU seconds (user + system) used so far by ``root`` and its descendants (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    total = 0.0
    for pid, used in cpu.items():
        p = pid
        while p and p != root:
            p = parents.get(p, 0)
        if p == root:
            total += used
    return total


@dataclass
class Stats:
    server_ms: list[float] = field(default_factory=list)
    channel_ms: list[float] = field(default_factory=list)
    client_ms: list[float] = field(default_factory=list)
    turns: int = 0
    calls: int = 0
    errors: int = 0
    ended_early: int = 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _scripts() -> list[tuple[str, list[str]]]:
    """(caller number, utterances) per demo patient: what a caller checking an appointment
    says, answering the agent's usual questions in order."""
    out = []
    for p in demo_patients(datetime.now(UTC)):
        dob = f"{MONTHS[p.dob.month - 1]} {p.dob.day}, {p.dob.year}"
        out.append((p.phones[0], [
            "no thank you",  # recording consent (the demo practice asks)
            "I'd like to check on my appointment",
            f"my name is {p.first_name} {p.last_name}",
            f"my date of birth is {dob}",
            "when is my next appointment",
            "what are your office hours",
            "no that's all, thank you goodbye",
        ]))
    return out


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


class Caller:
    def __init__(self, client: httpx.AsyncClient, base: str, token: str, stats: Stats,
                 scripts: list[tuple[str, list[str]]], index: int) -> None:
        self.client = client
        self.base = base
        self.validator = RequestValidator(token)
        self.stats = stats
        self.scripts = scripts
        self.index = index

    async def post(self, path: str, params: dict[str, str], *, turn: bool) -> str:
        url = self.base + path
        headers = {"X-Twilio-Signature": self.validator.compute_signature(url, params),
                   "Content-Type": "application/x-www-form-urlencoded"}
        started = time.perf_counter()
        response = await self.client.post(url, content=urlencode(params), headers=headers)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code >= 300:
            self.stats.errors += 1
            return ""
        if turn:
            timing = response.headers.get("server-timing", "")
            match = TIMING.search(timing)
            engine = ENGINE.search(timing)
            if match:
                self.stats.server_ms.append(float(match.group(1)))
                spent = float(engine.group(1)) if engine else 0.0
                self.stats.channel_ms.append(float(match.group(1)) - spent)
            self.stats.client_ms.append(elapsed)
            self.stats.turns += 1
        return response.text

    async def run(self, deadline: float, period: float | None) -> None:
        n = self.index
        next_at = time.perf_counter() + (period or 0) * (self.index / 50)
        while time.perf_counter() < deadline:
            number, lines = self.scripts[n % len(self.scripts)]
            n += 1
            sid = "CA" + secrets.token_hex(16)
            base = {"CallSid": sid, "AccountSid": "ACbench", "From": number, "To": PRACTICE,
                    "Direction": "inbound", "ApiVersion": "2010-04-01"}
            next_at = await self._pace(next_at, period)
            body = await self.post("/twilio/voice/inbound",
                                   {**base, "CallStatus": "ringing"}, turn=True)
            for line in lines:
                action = re.search(r'action="[^"]*?(/twilio/voice/gather\?t=\d+)"', body)
                if not action or time.perf_counter() >= deadline:
                    if not action:
                        self.stats.ended_early += 1
                    break
                next_at = await self._pace(next_at, period)
                body = await self.post(action.group(1).replace("&amp;", "&"),
                                       {**base, "CallStatus": "in-progress",
                                        "SpeechResult": line, "Confidence": "0.92"}, turn=True)
            await self.post("/twilio/voice/status",
                            {**base, "CallStatus": "completed", "CallDuration": "60"},
                            turn=False)
            self.stats.calls += 1

    @staticmethod
    async def _pace(next_at: float, period: float | None) -> float:
        if period is None:
            return next_at
        delay = next_at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        return max(next_at + period, time.perf_counter() - period)


async def _drive(base: str, token: str, calls: int, seconds: float,
                 rate: float | None) -> tuple[Stats, float]:
    stats = Stats()
    scripts = _scripts()
    limits = httpx.Limits(max_connections=calls, max_keepalive_connections=calls)
    async with httpx.AsyncClient(limits=limits, timeout=30.0) as client:
        # warm-up: one call, not counted
        warm = Stats()
        await Caller(client, base, token, warm, scripts, 0).run(time.perf_counter() + 2, None)
        period = calls / rate if rate else None
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(*(Caller(client, base, token, stats, scripts, i).run(
            deadline, period) for i in range(calls)))
        elapsed = time.perf_counter() - started
    return stats, elapsed


def _serve(env: dict[str, str], port: int, log: Path,
           workers: int) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    extra = [] if workers == 1 else ["--workers", str(workers)]
    proc = subprocess.Popen([CARECALL, "serve", "--port", str(port), *extra], env=env,
                            stdout=out, stderr=subprocess.STDOUT)
    for _ in range(200):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"carecall serve exited; see {log}")
        time.sleep(0.1)
    proc.terminate()
    raise SystemExit(f"carecall serve did not start; see {log}")


def _backend(name: str, url: str, args: argparse.Namespace) -> list[str]:
    work = Path(tempfile.mkdtemp(prefix=f"bench-calls-{name}-"))
    port = _free_port()
    token = secrets.token_hex(16)
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
    proc = _serve(env, port, work / "serve.log", args.workers)
    rows = []
    try:
        base = f"http://127.0.0.1:{port}"
        runs: list[tuple[str, float | None]] = [(f"paced {r:g}/s", r) for r in args.rate]
        for label, rate in [*runs, *([] if args.no_max else [("max", None)])]:
            cpu_before = _tree_cpu(proc.pid)
            stats, elapsed = asyncio.run(_drive(base, token, args.calls, args.seconds, rate))
            cpu = (_tree_cpu(proc.pid) - cpu_before) * 1000 / max(1, stats.turns)
            rows.append(
                f"| {name} | {args.workers} | {label} | {args.calls} | "
                f"{stats.turns / elapsed:,.0f} | "
                f"{_percentile(stats.server_ms, 0.5):.1f} | "
                f"{_percentile(stats.server_ms, 0.99):.1f} | "
                f"{_percentile(stats.client_ms, 0.5):.1f} | "
                f"{_percentile(stats.client_ms, 0.99):.1f} | "
                f"{_percentile(stats.channel_ms, 0.5):.1f} | "
                f"{_percentile(stats.channel_ms, 0.99):.1f} | {cpu:.1f} | {stats.calls} | "
                f"{stats.errors} |")
            print(rows[-1], flush=True)
    finally:
        proc.terminate()
        proc.wait(10)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return rows


def _pg_scratch(base_url: str, create: bool) -> str:
    base = make_url(base_url.replace("postgresql://", "postgresql+psycopg://", 1))
    name = "carecall_bench_calls"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if create:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False).replace(
        "postgresql+psycopg://", "postgresql://", 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="", help="PostgreSQL server URL (scratch DB made here)")
    parser.add_argument("--calls", type=int, default=40, help="concurrent simulated calls")
    parser.add_argument("--rate", type=float, nargs="+", default=[200.0],
                        help="offered turns/s, one paced run each")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each run")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the data dirs and logs")
    parser.add_argument("--workers", type=int, default=1,
                        help="server processes (carecall serve --workers)")
    parser.add_argument("--no-max", action="store_true", help="skip the unpaced run")
    args = parser.parse_args()
    print(f"# calls benchmark {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}; server and load "
          "generator share the machine (and other work on it)")
    print("| backend | workers | run | calls | turns/s | server p50 ms | server p99 ms | "
          "client p50 ms | client p99 ms | channel p50 ms | channel p99 ms | "
          "server CPU ms/turn | calls done | errors |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
          "| ---: | ---: |", flush=True)
    if not args.skip_sqlite:
        _backend("SQLite", "", args)
    if args.pg:
        url = _pg_scratch(args.pg, create=True)
        try:
            _backend("PostgreSQL", url, args)
        finally:
            _pg_scratch(args.pg, create=False)


if __name__ == "__main__":
    sys.exit(main())

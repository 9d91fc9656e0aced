"""The job engine: durable workflows and queues (DBOS) behind a small seam.

Only this module imports ``dbos``. Workflows and steps are declared with ``workflow`` and
``step``; a process that runs them calls ``launch`` (a worker, ``campaigns run --wait``, a
test) and ``shutdown``. Everything DBOS stores (inputs, step outputs) is ids, counters and
codes: job payloads never carry PHI.

Where the engine keeps its state: embedded, a SQLite file ``jobs.db`` beside carecall's own
(DBOS creates its own tables, which must not sit among the migrated ones); on PostgreSQL the
same database, in the schema ``jobs_schema``, so any number of worker processes cooperate.
A workflow interrupted by a crash is resumed from its last completed step when a process
with the same executor id launches again.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from dbos import DBOS, SetEnqueueOptions, SetWorkflowID
from dbos._error import DBOSException

from carecall.app import Carecall
from carecall.core.config import Settings
from carecall.core.errors import ConfigError

P = ParamSpec("P")
R = TypeVar("R")

APP_NAME = "carecall"


@dataclass(frozen=True)
class QueueSpec:
    """A queue: at most ``concurrency`` jobs at once, and per key (a number's tag) at most
    one start every ``key_interval`` seconds."""

    name: str
    concurrency: int
    key_interval: float | None = None
    poll_interval: float = 1.0


_lock = threading.RLock()
_app: Carecall | None = None


def system_database_url(settings: Settings) -> str:
    if settings.jobs_database_url:
        url = settings.jobs_database_url
    elif settings.is_embedded:
        url = f"sqlite:///{(settings.data_dir / 'jobs.db').resolve()}"
    else:
        url = settings.resolved_database_url
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def workflow(name: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Declare a durable workflow (a function of ids that calls steps)."""
    return DBOS.workflow(name=name)


def step(name: str, retries: int = 0) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Declare a step: its result is recorded, so a resumed workflow does not run it again.
    A step interrupted before its result was recorded runs again: make it idempotent."""
    if retries:
        return DBOS.step(name=name, retries_allowed=True, max_attempts=retries + 1)
    return DBOS.step(name=name)


def sleep(seconds: float) -> None:
    """A durable sleep: a workflow resumed after a crash sleeps only what is left."""
    DBOS.sleep(seconds)


def app() -> Carecall:
    """The application the launched engine works for (set by ``launch``)."""
    if _app is None:
        raise ConfigError("The job engine is not running in this process.")
    return _app


def launch(carecall: Carecall, queues: list[QueueSpec], *, executor_id: str | None = None,
           ) -> None:
    """Start the engine in this process: it resumes this executor's interrupted workflows
    and takes jobs from ``queues``. One engine per process (DBOS is a process singleton)."""
    global _app  # noqa: PLW0603 - DBOS itself is a process-wide singleton
    with _lock:
        if _app is not None:
            raise ConfigError("The job engine is already running in this process.")
        settings = carecall.settings
        url = system_database_url(settings)
        if url.startswith("sqlite"):
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        config: dict[str, Any] = {
            "name": APP_NAME,
            "system_database_url": url,
            "log_level": "WARNING",
            "application_version": "carecall-1",
        }
        if not url.startswith("sqlite"):
            config["dbos_system_schema"] = settings.jobs_schema
        if executor_id:
            config["executor_id"] = executor_id
        _quiet()
        _app = carecall
        try:
            DBOS(config=config)  # type: ignore[arg-type]
            DBOS.launch()
            for queue in queues:
                limiter = (
                    {"limit": 1, "period": queue.key_interval} if queue.key_interval else None
                )
                DBOS.register_queue(
                    queue.name,
                    global_concurrency=queue.concurrency,
                    partition_limiter=limiter,  # type: ignore[arg-type]
                    polling_interval_sec=queue.poll_interval,
                    on_conflict="always_update",
                )
        except BaseException:
            _app = None
            DBOS.destroy(destroy_registry=False)
            raise


def shutdown() -> None:
    global _app  # noqa: PLW0603 - see launch
    with _lock:
        if _app is None:
            return
        DBOS.destroy(destroy_registry=False)
        _app = None


def running() -> bool:
    return _app is not None


def enqueue(queue: str, fn: Callable[..., Any], *args: str | int, job_id: str,
            key: str | None = None, delay_seconds: float = 0.0) -> None:
    """Put one job on ``queue`` under ``job_id``; enqueueing the same id again is a no-op,
    so a sweep may hand over the same job twice. ``args`` are ids and counters only."""
    dbos_queue = DBOS.retrieve_queue(queue)
    if dbos_queue is None:
        raise ConfigError(f"The job queue {queue} is not registered; launch the engine first.")
    delay = delay_seconds if delay_seconds > 0 else None
    with SetWorkflowID(job_id), SetEnqueueOptions(queue_partition_key=key,
                                                  delay_seconds=delay):
        dbos_queue.enqueue(fn, *args)


def job_status(job_id: str) -> str | None:
    """PENDING, ENQUEUED, SUCCESS, ERROR, CANCELLED... or None for an unknown job."""
    try:
        status = DBOS.get_workflow_status(job_id)
    except DBOSException:
        return None
    return None if status is None else str(status.status)


def _quiet() -> None:
    # DBOS logs workflow names and ids only, but keep its chatter out of the CLI's output.
    # Its console handler keeps the stderr it first saw; a process that replaced stderr since
    # (a test capturing output, a daemon) would have it write to a closed file.
    logger = logging.getLogger("dbos")
    logger.setLevel(logging.WARNING)
    for handler in logger.handlers:
        if type(handler) is logging.StreamHandler:
            with handler.lock or threading.RLock():
                handler.stream = sys.stderr

"""Prometheus metrics of this process: every instrument, and the few functions that move them.

Code elsewhere calls one named function where a thing happens (a request answered, a task
created or finished, a job run, a webhook attempt settled, an upstream call, credits moved);
nothing else touches ``prometheus_client``. Each process counts its own work and exposes it
(``web/metrics.py``); Prometheus scrapes every process and sums. Labels are bounded sets only:
route templates (never raw paths), models and dialects of the catalog, job kinds, statuses.
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.exposition import choose_encoder

#: No ``*_created`` series: half the scrape, and nothing Prometheus needs.
disable_created_metrics()  # type: ignore[no-untyped-call]

UNMATCHED = "unmatched"  #: the route label of a request no route matched
#: HTTP methods counted as themselves; any other (clients may send any token) is ``other``.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
JOB_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)

_requests = Histogram(
    "seedance_http_request_duration_seconds",
    "HTTP requests by route template, method and status; from the request's start to its "
    "response's last byte (an event stream: until it closes).",
    ["route", "method", "status"],
)
_tasks_created = Counter(
    "seedance_tasks_created",
    "Tasks created (replays not counted).",
    ["model", "dialect", "provider"],
)
_tasks_finished = Counter(
    "seedance_tasks_finished",
    "Tasks that reached a final status (succeeded, failed, cancelled, expired).",
    ["model", "provider", "status"],
)
_queue_depth = Gauge(
    "seedance_queue_depth", "Jobs due and waiting for a worker (at scrape time).", ["kind"]
)
_queue_age = Gauge(
    "seedance_queue_oldest_age_seconds",
    "How long the longest-waiting due job has waited (0 when none waits; at scrape time).",
    ["kind"],
)
_jobs = Histogram(
    "seedance_job_duration_seconds",
    "Time a worker of this process spent running one job, by kind.",
    ["kind"],
    buckets=JOB_BUCKETS,
)
_deliveries = Counter(
    "seedance_webhook_deliveries",
    "Settled webhook and callback delivery attempts by target (endpoint, callback) and outcome "
    "(succeeded, retrying, failed, cancelled).",
    ["target", "outcome"],
)
_upstream = Counter(
    "seedance_upstream_calls",
    "HTTP calls to the upstream (provider ark) by channel, call and outcome.",
    ["channel", "call", "outcome"],
)
_credits = {
    kind: Counter(f"seedance_credits_{past}", f"Credits {past} (ledger {kind} entries).")
    for kind, past in (
        ("hold", "held"),
        ("capture", "captured"),
        ("release", "released"),
        ("grant", "granted"),
    )
}

#: Request histogram children by (route, method, status): one dict lookup per request.
_request_children: dict[tuple[str, str, int], Histogram] = {}
_model_providers: dict[str, str] = {}


def request_answered(route: str | None, method: str, status: int, seconds: float) -> None:
    """One HTTP request answered; ``route`` is the matched route's template (None: unmatched)."""
    key = (route or UNMATCHED, method if method in METHODS else "other", status)
    child = _request_children.get(key)
    if child is None:
        child = _request_children[key] = _requests.labels(key[0], key[1], str(status))
    child.observe(seconds)


def know_models(providers: Mapping[str, str]) -> None:
    """Which provider serves each catalog model (the ``provider`` label of finished tasks)."""
    _model_providers.clear()
    _model_providers.update(providers)


def task_created(model: str, dialect: str, provider: str) -> None:
    """A new task was stored (credits held, job queued)."""
    _tasks_created.labels(model, dialect, provider).inc()


def task_finished(model: str, status: str) -> None:
    """A task reached ``status``, a final one."""
    _tasks_finished.labels(model, _model_providers.get(model, "unknown"), status).inc()


def credits_moved(kind: str, amount: int) -> None:
    """A ledger entry of ``kind`` (hold, capture, release, grant) for ``amount`` credits."""
    counter = _credits.get(kind)
    if counter is not None:
        counter.inc(amount)


def job_ran(kind: str, seconds: float) -> None:
    """A worker of this process ran a job of ``kind`` for ``seconds``."""
    _jobs.labels(kind).observe(seconds)


def webhook_settled(target: str, outcome: str) -> None:
    """A delivery attempt to an ``endpoint`` or a ``callback`` was recorded with ``outcome``."""
    _deliveries.labels(target, outcome).inc()


def upstream_called(channel: str, call: str, outcome: str) -> None:
    """One call (create, get, list, delete, download) to an upstream channel ended so."""
    _upstream.labels(channel, call, outcome).inc()


def queue_seen(kind: str, depth: int, oldest_age_seconds: float) -> None:
    """The queue as a scrape found it: ``depth`` due jobs of ``kind``, the oldest this old."""
    _queue_depth.labels(kind).set(depth)
    _queue_age.labels(kind).set(max(0.0, oldest_age_seconds))


def exposition(accept: str | None) -> tuple[bytes, str]:
    """This process's metrics in the format ``accept`` asks for, and its content type."""
    encode, content_type = choose_encoder(accept or "")
    return encode(REGISTRY), content_type

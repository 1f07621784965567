"""`make soak`: agents submit signed proposals under load while reviewers approve; then check.

Runs gunicorn + PostgreSQL + Redis + 2 Celery workers as subprocesses on loopback (ephemeral
port) against a throwaway database console_soak_<pid>, dropped at the end, while reviewers (2
by default) approve on the proposal page with a signed-in session and its CSRF token (or through
the service layer with --review-via service). At the end it requires: zero 5xx, every accepted (2xx) proposal decided (applied / rejected / withdrawn)
within a bounded settle time, `verify_log` and `replay` passing, and bounded memory growth of
the web and worker process trees. Prints throughput and p50/p99 latency; exit 1 on any failure.

    python -m bench.soak [--seconds 60] [--agents 4] [--reviewers 2] [--review-via http|service]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import (
    Child,
    django_ready,
    is_postgres,
    manage,
    percentile,
    process_tree_rss,
    start_celery_worker,
    start_gunicorn,
    throwaway_database,
)

DEFAULT_DATABASE_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_BROKER = "redis://127.0.0.1:6379/8"
REVIEWER = "soak-reviewer"
REVIEWER_PASSWORD = secrets.token_urlsafe(16)
# Memory may grow by this much (per process tree) over the run: caches, connection pools and
# allocator high-water marks settle in the first minutes; a leak per request grows without bound.
RSS_GROWTH_LIMIT = 0.5
RSS_GROWTH_SLACK = 64 * 1024 * 1024
# One proposal in FAILING_SHARE sets a value the mandatory test refuses (a test-gate rejection),
# one in WITHDRAW_SHARE is withdrawn by its agent right after submitting.
FAILING_SHARE = 6
WITHDRAW_SHARE = 10


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: list[float] = field(default_factory=list)  # every API request, seconds
    submit_latencies: list[float] = field(default_factory=list)  # 201 submits
    statuses: Counter[int] = field(default_factory=Counter)
    accepted: list[int] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    approvals: int = 0
    review_refusals: int = 0
    review_errors: list[str] = field(default_factory=list)
    review_statuses: Counter[int] = field(default_factory=Counter)
    review_latencies: list[float] = field(default_factory=list)

    def record(self, method: str, path: str, status: int, seconds: float) -> None:
        with self.lock:
            self.latencies.append(seconds)
            self.statuses[status] += 1
            if status >= 500:
                self.server_errors.append(f"{status} {method} {path}")


def _setup(agents: int, reviewers: int) -> list[dict[str, Any]]:
    """Test definitions, one Config target and one agent per simulated agent, a reviewer."""
    from django.contrib.auth.models import Group, User

    from audit.access import REVIEWERS_GROUP
    from patches.agents import agent_create
    from patches.models import TestDefinition
    from patches.signing import private_key_pem
    from patches.targets import target_create

    schema = {
        "type": "object",
        "required": ["counter"],
        "properties": {"counter": {"type": "integer", "minimum": 0}},
    }
    TestDefinition.objects.create(
        name="counter-non-negative", kind="json_schema", params={"schema": schema}
    )
    group, _ = Group.objects.get_or_create(name=REVIEWERS_GROUP)
    for index in range(reviewers):
        user = User.objects.create_user(username=f"{REVIEWER}-{index}", password=REVIEWER_PASSWORD)
        user.groups.add(group)
    people = []
    for index in range(agents):
        name = f"soak-agent-{index}"
        target = f"soak-config-{index}"
        target_create(
            name=target,
            patch_type="Config",
            content=json.dumps({"counter": 0, "label": f"agent {index}"}),
            actor="user:soak",
            tests=["counter-non-negative"],
        )
        created = agent_create(name=name, actor="user:soak")
        assert created.private_key is not None
        people.append(
            {
                "agent": name,
                "target": target,
                "token": created.token,
                "key_id": created.key.key_id,
                "private_pem": private_key_pem(created.private_key),
            }
        )
    return people


def _agent_loop(
    base_url: str, person: dict[str, Any], deadline: float, tally: Tally, seed: int
) -> None:
    import requests

    from patches.signing import load_private_key_pem, sign

    rng = random.Random(seed)
    key = load_private_key_pem(person["private_pem"])
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {person['token']}"

    def call(method: str, path: str, **kwargs: Any) -> requests.Response:
        started = time.perf_counter()
        response = session.request(method, base_url + path, timeout=30, **kwargs)
        tally.record(method, path, response.status_code, time.perf_counter() - started)
        return response

    counter = 0
    while time.monotonic() < deadline:
        current = call("GET", f"/api/v1/targets/{person['target']}")
        if current.status_code != 200:
            time.sleep(0.05)
            continue
        counter += 1
        value = -counter if counter % FAILING_SHARE == 0 else counter
        proposal = {
            "patch_type": "Config",
            "target": person["target"],
            "base_version": current.json()["version"],
            "patch": json.dumps([{"op": "replace", "path": "/counter", "value": value}]),
            "reasoning": f"Soak step {counter}: move the counter.",
            "test_requirements": [],
            "nonce": secrets.token_hex(16),
        }
        envelope = {
            "proposal": proposal,
            "signature": {
                "key_id": person["key_id"],
                "algorithm": "ed25519",
                "value": sign(key, proposal),
            },
        }
        started = time.perf_counter()
        response = call(
            "POST",
            "/api/v1/proposals",
            data=json.dumps(envelope),
            headers={"Content-Type": "application/json"},
        )
        if response.status_code == 201:
            proposal_id = response.json()["id"]
            with tally.lock:
                tally.submit_latencies.append(time.perf_counter() - started)
                tally.accepted.append(proposal_id)
            if rng.randrange(WITHDRAW_SHARE) == 0:
                call("POST", f"/api/v1/proposals/{proposal_id}/withdraw")
            else:
                call("GET", f"/api/v1/proposals/{proposal_id}")
        elif response.status_code == 429:
            time.sleep(0.2)  # too many pending: let the reviewer catch up


def _open_count() -> int:
    from patches.models import OPEN_STATUSES, Proposal

    return Proposal.objects.filter(status__in=OPEN_STATUSES).count()


Approver = Callable[[Any], None]


def _service_approver(tally: Tally, username: str) -> Approver:
    """Approve through audit.reviews.review_record, as the console's view does."""
    from django.contrib.auth.models import User
    from django.db import OperationalError

    from audit.reviews import ReviewRefused, review_record

    user = User.objects.get(username=username)

    def approve(proposal: Any) -> None:
        try:
            review_record(
                proposal=proposal,
                reviewer=user,
                decision="approve",
                reason="Soak run: the counter moves as asked.",
                patch_hash=proposal.patch_hash,
                base_content_hash=proposal.base_content_hash,
            )
            with tally.lock:
                tally.approvals += 1
        except ReviewRefused:
            with tally.lock:
                tally.review_refusals += 1  # decided meanwhile (stale, withdrawn)
        except OperationalError as exc:
            # A database error inside the service (e.g. a deadlock) is a finding; the
            # reviewer carries on like a person who reloads the page.
            tally.review_errors.append(f"proposal {proposal.pk}: {exc}".splitlines()[0])

    return approve


def _http_approver(base_url: str, tally: Tally, username: str) -> Approver:
    """Approve through the proposal page: a signed-in session and its CSRF token."""
    import requests

    session = requests.Session()
    session.get(base_url + "/accounts/login/", timeout=30)
    login = session.post(
        base_url + "/accounts/login/",
        data={
            "username": username,
            "password": REVIEWER_PASSWORD,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        allow_redirects=False,
        timeout=30,
    )
    if login.status_code != 302:
        raise RuntimeError(f"the soak reviewer could not sign in: {login.status_code}")

    def approve(proposal: Any) -> None:
        started = time.perf_counter()
        response = session.post(
            f"{base_url}/proposals/{proposal.pk}/",
            data={
                "decision": "approve",
                "reason": "Soak run: the counter moves as asked.",
                "patch_hash": proposal.patch_hash,
                "base_content_hash": proposal.base_content_hash,
                "csrfmiddlewaretoken": session.cookies["csrftoken"],
            },
            allow_redirects=False,
            timeout=30,
        )
        with tally.lock:
            tally.review_latencies.append(time.perf_counter() - started)
            tally.review_statuses[response.status_code] += 1
        if response.status_code >= 500:
            tally.review_errors.append(f"proposal {proposal.pk}: HTTP {response.status_code}")
            with tally.lock:
                tally.server_errors.append(f"{response.status_code} POST /proposals/{proposal.pk}/")
        elif response.status_code == 302:
            with tally.lock:
                tally.approvals += 1
        else:
            with tally.lock:
                tally.review_refusals += 1  # 409: decided meanwhile (stale, withdrawn)

    return approve


def _reviewer_loop(
    stop: threading.Event,
    settle_deadline: list[float],
    tally: Tally,
    review_via: str,
    base_url: str,
    username: str,
) -> None:
    """Approves proposals in review, oldest first, until told to stop and nothing is left open
    (or the settle deadline passes)."""
    from django.db import connection

    from patches.models import Proposal, ProposalStatus

    approve = (
        _http_approver(base_url, tally, username)
        if review_via == "http"
        else _service_approver(tally, username)
    )
    try:
        while True:
            batch = list(
                Proposal.objects.filter(status=ProposalStatus.IN_REVIEW).order_by("pk")[:25]
            )
            for proposal in batch:
                approve(proposal)
            if stop.is_set() and (_open_count() == 0 or time.monotonic() > settle_deadline[0]):
                return
            if not batch:
                time.sleep(0.1)
    finally:
        connection.close()


def _rss(children: list[Child]) -> dict[str, int]:
    return {child.name: process_tree_rss(child.pid) for child in children}


def _mb(value: float) -> str:
    return f"{value / 1024 / 1024:.1f} MB"


def _figures(tally: Tally, seconds: float) -> dict[str, Any]:
    return {
        "requests": sum(tally.statuses.values()),
        "requests_per_s": sum(tally.statuses.values()) / seconds,
        "accepted": len(tally.accepted),
        "accepted_per_s": len(tally.accepted) / seconds,
        "p50_ms": percentile(tally.latencies, 50) * 1000,
        "p99_ms": percentile(tally.latencies, 99) * 1000,
        "submit_p50_ms": percentile(tally.submit_latencies, 50) * 1000,
        "submit_p99_ms": percentile(tally.submit_latencies, 99) * 1000,
        "statuses": dict(sorted(tally.statuses.items())),
    }


def _child_env(database_url: str, broker: str, var_dir: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=broker,
        VAR_DIR=var_dir,
        DEBUG="false",
        LOG_LEVEL="WARNING",
        GATE_SWEEP_INTERVAL_S="5",
        WORKER_HEARTBEAT_S="5",
        DB_CONN_MAX_AGE="60",
    )
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    return env


def _flush_broker(broker: str) -> None:
    import redis

    # Our own Redis database (the URL names it): stale gate messages of an earlier run must not
    # reach this run's workers, whose database has other proposal ids.
    redis.Redis.from_url(broker).flushdb()


def soak(
    *,
    seconds: float,
    agents: int,
    database_server: str,
    broker: str,
    settle_s: float,
    review_via: str = "http",
    reviewers: int = 2,
) -> int:
    os.environ["DATABASE_URL"] = database_server
    failures: list[str] = []
    with (
        throwaway_database("console_soak") as database_url,
        tempfile.TemporaryDirectory(prefix="console-soak-") as var_dir,
    ):
        env = _child_env(database_url, broker, var_dir)
        os.environ.update({k: env[k] for k in ("CELERY_BROKER_URL", "VAR_DIR")})
        django_ready(database_url, var_dir=var_dir)
        people = _setup(agents, reviewers)
        _flush_broker(broker)
        # Kept after the run (unlike var_dir) so a failure can be read afterwards.
        logs = Path(__file__).resolve().parent.parent / "var" / f"soak-{os.getpid()}"
        logs.mkdir(parents=True, exist_ok=True)
        children: list[Child] = []
        try:
            children.append(start_gunicorn(env=env, log_dir=logs, workers=2, threads=4))
            children.append(
                start_celery_worker(env=env, log_dir=logs, name="soak-worker-1", beat=True)
            )
            children.append(start_celery_worker(env=env, log_dir=logs, name="soak-worker-2"))
            base_url = children[0].extra["url"]
            time.sleep(2)  # workers connect
            started_rss = _rss(children)
            tally = Tally()
            stop = threading.Event()
            started = time.monotonic()
            deadline = started + seconds
            settle_deadline = [deadline + settle_s]
            threads = [
                threading.Thread(
                    target=_agent_loop, args=(base_url, person, deadline, tally, index)
                )
                for index, person in enumerate(people)
            ]
            reviewer_threads = [
                threading.Thread(
                    target=_reviewer_loop,
                    args=(
                        stop,
                        settle_deadline,
                        tally,
                        review_via,
                        base_url,
                        f"{REVIEWER}-{index}",
                    ),
                )
                for index in range(reviewers)
            ]
            for thread in [*threads, *reviewer_threads]:
                thread.start()
            # "Before" is taken after a warm-up under load: prefork children import the app
            # lazily on their first task, which is start-up cost, not growth.
            time.sleep(min(10.0, seconds * 0.2))
            before = _rss(children)
            print(f"RSS at start {', '.join(f'{k} {_mb(v)}' for k, v in started_rss.items())}")
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - started
            stop.set()
            for thread in reviewer_threads:
                thread.join(timeout=settle_s + 30)
            settled_after = time.monotonic() - started - elapsed
            after = _rss(children)
            for child in children:
                if not child.alive():
                    failures.append(f"{child.name} died during the run:\n{child.tail()}")
            failures += _check_outcome(tally, env)
        finally:
            for child in children:
                child.stop()
            from django.db import connections

            connections.close_all()
        figures = _figures(tally, elapsed)
        _report(figures, tally, before, after, elapsed, settled_after, agents, failures, logs)
    return 1 if failures else 0


def _check_outcome(tally: Tally, env: dict[str, str]) -> list[str]:
    from patches.models import OPEN_STATUSES, Proposal

    failures = []
    if tally.server_errors:
        failures.append(f"{len(tally.server_errors)} 5xx responses, e.g. {tally.server_errors[:5]}")
    if tally.review_errors:
        failures.append(
            f"{len(tally.review_errors)} reviews failed in the server (database error or 5xx), e.g. "
            f"{tally.review_errors[:3]}"
        )
    undecided = list(
        Proposal.objects.filter(pk__in=tally.accepted, status__in=OPEN_STATUSES).values_list(
            "pk", "status"
        )
    )
    if undecided:
        failures.append(f"{len(undecided)} accepted proposals still undecided: {undecided[:10]}")
    stored = Proposal.objects.filter(pk__in=tally.accepted).count()
    if stored != len(set(tally.accepted)):
        failures.append(f"{len(tally.accepted)} proposals accepted but {stored} stored")
    for command in ("verify_log", "replay"):
        try:
            done = manage(command, env=env, timeout=300)
            print(f"{command}: {done.stdout.strip()}")
        except RuntimeError as exc:
            failures.append(str(exc))
    return failures


def _task_errors(logs_dir: Path) -> Counter[str]:
    """'Task … raised unexpected: …' lines of the worker logs, with ids and numbers blanked."""
    import re

    found: Counter[str] = Counter()
    for log in logs_dir.glob("soak-worker-*.log"):
        for line in log.read_text(errors="replace").splitlines():
            if "raised unexpected" in line:
                line = re.sub(r"\[[0-9a-f-]{36}\]", "", line)
                found[re.sub(r"\d+", "N", line.split(" raised unexpected: ", 1)[-1])[:160]] += 1
    return found


def _report(
    figures: dict[str, Any],
    tally: Tally,
    before: dict[str, int],
    after: dict[str, int],
    elapsed: float,
    settled_after: float,
    agents: int,
    failures: list[str],
    logs_dir: Path,
) -> None:
    from patches.models import Proposal

    decisions = Counter(
        Proposal.objects.filter(pk__in=tally.accepted).values_list("status", flat=True)
    )
    print(
        f"soak: {agents} agents for {elapsed:.1f} s on {os.cpu_count()} cores; settled {settled_after:.1f} s later"
    )
    print(
        f"requests {figures['requests']} ({figures['requests_per_s']:.1f}/s), "
        f"p50 {figures['p50_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms; statuses {figures['statuses']}"
    )
    print(
        f"accepted proposals {figures['accepted']} ({figures['accepted_per_s']:.1f}/s), "
        f"submit p50 {figures['submit_p50_ms']:.1f} ms, p99 {figures['submit_p99_ms']:.1f} ms"
    )
    print(
        f"decisions {dict(decisions)}; approvals {tally.approvals}, refused reviews {tally.review_refusals}"
    )
    if tally.review_latencies:
        print(
            f"review requests {dict(sorted(tally.review_statuses.items()))}, "
            f"p50 {percentile(tally.review_latencies, 50) * 1000:.1f} ms, "
            f"p99 {percentile(tally.review_latencies, 99) * 1000:.1f} ms"
        )
    for name in before:
        grown = after[name] - before[name]
        limit = before[name] * RSS_GROWTH_LIMIT + RSS_GROWTH_SLACK
        verdict = "ok" if grown <= limit else "TOO MUCH"
        print(
            f"RSS {name:14} before {_mb(before[name])}, after {_mb(after[name])}, growth {_mb(grown)} ({verdict})"
        )
        if grown > limit:
            failures.append(f"{name} memory grew by {_mb(grown)} (limit {_mb(limit)})")
    task_errors = _task_errors(logs_dir)
    if task_errors:
        # Reported, not failed: a gate task that dies is retried or swept, so nothing is lost,
        # but each one is a bug worth reading in the worker logs.
        print(f"worker task errors: {sum(task_errors.values())}")
        for line, count in task_errors.most_common(5):
            print(f"  {count:5} x {line}")
    print(f"logs: {logs_dir}")
    print("RESULT: " + ("PASS" if not failures else "FAIL"))
    for failure in failures:
        print(f"  - {failure}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--reviewers", type=int, default=2)
    parser.add_argument(
        "--review-via",
        choices=("http", "service"),
        default="http",
        help="approve on the proposal page (session + CSRF) or through the service layer",
    )
    parser.add_argument("--agents", type=int, default=4)
    parser.add_argument(
        "--settle", type=float, default=120.0, help="max seconds to wait for decisions"
    )
    env_db = os.environ.get("DATABASE_URL", "")
    env_broker = os.environ.get("CELERY_BROKER_URL", "")
    parser.add_argument(
        "--database-server", default=env_db if is_postgres(env_db) else DEFAULT_DATABASE_SERVER
    )
    parser.add_argument(
        "--broker", default=env_broker if env_broker.startswith("redis") else DEFAULT_BROKER
    )
    options = parser.parse_args(argv)
    return soak(
        seconds=options.seconds,
        agents=options.agents,
        database_server=options.database_server,
        broker=options.broker,
        settle_s=options.settle,
        review_via=options.review_via,
        reviewers=options.reviewers,
    )


if __name__ == "__main__":
    sys.exit(main())

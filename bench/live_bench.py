"""Live updates: what one idle browser costs the server per minute, polling vs server-sent events.

`python -m bench.live_bench [--rounds N]` runs in its own throwaway database (PostgreSQL when
DATABASE_URL names a server, else SQLite). Every request goes through Django's test client in
this process, so its CPU time (time.process_time) is the server's, without a network. A reviewer
with 25 proposals in review keeps the inbox open; nothing changes, as on a quiet day.

- polling (what the console does, console/live.py): the inbox table asks every
  POLL_INTERVAL_S with the ETag it shows and gets a 304; other pages poll the nav count every
  10 s the same way. Measured: CPU and queries of one 304, response bytes on the wire (status
  line, headers, body) and the request bytes of the poll as Chromium sends it.
- baselines, same run: the same poll without its ETag (a 200 that renders the table), and a
  full page reload of the inbox (what a meta refresh or HX-Refresh would cost).
- server-sent events, measured on a prototype loop (not shipped): one stream per browser that
  checks the log head every second and sends a keep-alive comment every 15 s. Its CPU per
  minute is 60 head checks; its real cost is the connection it holds: a sync worker (gunicorn's
  default, what the scale-out uses) serves nothing else while a browser keeps the inbox open.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from typing import Any

from bench.common import django_ready, throwaway_database

ROUNDS = 200
PROPOSALS = 25
SSE_CHECK_S = 1
SSE_KEEPALIVE_S = 15
COUNT_POLL_S = 10
# RATIOS: server CPU of a quiet poll (304) against the same poll rendered (200): the point of
# the ETag. Goal: a 304 costs at most a quarter of a render.
RATIOS = {
    "poll_304_vs_200_cpu_ratio": ("poll_304_cpu_s", "poll_200_cpu_s", "<=", 0.25),
}
# What Chromium sends with an htmx poll from the inbox (header names and typical values; the
# session and CSRF cookies at Django's lengths), for the request-bytes figure.
CHROMIUM_POLL_HEADERS = {
    "Host": "127.0.0.1:8000",
    "Connection": "keep-alive",
    "sec-ch-ua-platform": '"Linux"',
    "HX-Target": "inbox-table",
    "HX-Current-URL": "http://127.0.0.1:8000/",
    "X-CSRFToken": "x" * 64,
    "sec-ch-ua": '"Chromium";v="131", "Not_A Brand";v="24"',
    "sec-ch-ua-mobile": "?0",
    "HX-Request": "true",
    "If-None-Match": '"' + "0" * 32 + '"',
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Accept": "*/*",
    "Sec-Fetch-Site": "same-origin",
    "Sec-Fetch-Mode": "cors",
    "Sec-Fetch-Dest": "empty",
    "Referer": "http://127.0.0.1:8000/",
    "Accept-Encoding": "gzip, deflate, br, zstd",
    "Accept-Language": "en-US,en;q=0.9",
    "Cookie": "csrftoken=" + "x" * 32 + "; sessionid=" + "x" * 32,
}


def _world() -> Any:
    from django.contrib.auth.models import Group, User
    from django.test import Client

    from audit.access import REVIEWERS_GROUP
    from audit.gates import gates_run
    from patches.agents import agent_create
    from patches.canonical import canonical
    from patches.client import make_proposal, sign_proposal
    from patches.formats import make_patch
    from patches.submit import proposal_submit
    from patches.targets import target_create

    created = agent_create(name="bench-agent", actor="system:console")
    base = "You are a support agent for {company}.\nAnswer politely.\n"
    target = target_create(name="bench-live", patch_type="Prompt", content=base, actor="bench")
    for i in range(PROPOSALS):
        new = base.replace("politely", f"politely, style {i}")
        proposal = make_proposal(
            target=target.name,
            patch_type="Prompt",
            base_version=1,
            patch=make_patch(content_kind="text", old=base, new=new),
            reasoning=f"Style {i}.\nSecond line.",
        )
        body = canonical(sign_proposal(created.private_key, proposal))
        gates_run(proposal_id=proposal_submit(agent=created.agent, body=body).pk)
    user = User.objects.create_user(username="bench-reviewer", password="x")
    user.groups.add(Group.objects.get_or_create(name=REVIEWERS_GROUP)[0])
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return client


def _wire_bytes(response: Any) -> int:
    status_line = f"HTTP/1.1 {response.status_code} {response.reason_phrase}\r\n"
    return len(status_line.encode()) + len(response.serialize_headers()) + 4 + len(response.content)


def _cpu(rounds: int, call: Any) -> tuple[float, float]:
    """(median, best) process CPU seconds of one call."""
    spent = []
    for _ in range(rounds):
        started = time.process_time()
        call()
        spent.append(time.process_time() - started)
    return statistics.median(spent), min(spent)


def _queries(call: Any) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured)


def run(rounds: int = ROUNDS) -> dict[str, float]:
    from console.live import POLL_INTERVAL_S, log_head_seq

    client = _world()
    htmx = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "inbox-table"}
    first = client.get("/", **htmx)
    assert first.status_code == 200, first.status_code
    etag = first["ETag"]

    def poll_304() -> Any:
        response = client.get("/", HTTP_IF_NONE_MATCH=etag, **htmx)
        assert response.status_code == 304
        return response

    def poll_200() -> Any:
        return client.get("/", **htmx)

    def reload() -> Any:
        return client.get("/")

    count = client.get("/live/awaiting-count/", HTTP_HX_REQUEST="true")

    def count_304() -> Any:
        return client.get("/live/awaiting-count/", HTTP_IF_NONE_MATCH=count["ETag"])

    def sse_tick() -> str:
        # What one SSE stream does each second: look at the log head, compare, maybe write.
        seq = log_head_seq()
        return f"id: {seq}\n\n" if seq < 0 else ""

    cpu_304, best_304 = _cpu(rounds, poll_304)
    cpu_200, _ = _cpu(rounds, poll_200)
    cpu_reload, _ = _cpu(max(20, rounds // 5), reload)
    cpu_count, _ = _cpu(rounds, count_304)
    cpu_tick, _ = _cpu(rounds, sse_tick)
    request_bytes = (
        len("GET / HTTP/1.1\r\n")
        + sum(len(f"{k}: {v}\r\n") for k, v in CHROMIUM_POLL_HEADERS.items())
        + 2
    )
    polls_per_min = 60 / POLL_INTERVAL_S
    bytes_304 = _wire_bytes(poll_304())
    sse_keepalive_bytes = len(b": keepalive\n\n") + 8  # plus chunk framing (hex size, CRLFs)
    return {
        "poll_interval_s": POLL_INTERVAL_S,
        "poll_304_cpu_s": cpu_304,
        "poll_304_best_cpu_s": best_304,
        "poll_200_cpu_s": cpu_200,
        "reload_cpu_s": cpu_reload,
        "count_304_cpu_s": cpu_count,
        "poll_304_vs_200_cpu_ratio": cpu_304 / cpu_200,
        "poll_304_vs_reload_cpu_ratio": cpu_304 / cpu_reload,
        "poll_304_queries": _queries(poll_304),
        "poll_200_queries": _queries(poll_200),
        "poll_304_response_bytes": bytes_304,
        "poll_200_response_bytes": _wire_bytes(poll_200()),
        "reload_response_bytes": _wire_bytes(reload()),
        "poll_request_bytes": request_bytes,
        # One idle inbox per minute, polling:
        "inbox_requests_per_min": polls_per_min,
        "inbox_bytes_per_min": polls_per_min * (bytes_304 + request_bytes),
        "inbox_cpu_ms_per_min": polls_per_min * cpu_304 * 1000,
        # Any other page: the nav count every 10 s.
        "page_requests_per_min": 60 / COUNT_POLL_S,
        "page_cpu_ms_per_min": 60 / COUNT_POLL_S * cpu_count * 1000,
        # The SSE prototype: one held connection, a head check a second, a keep-alive each 15 s.
        "sse_cpu_ms_per_min": 60 / SSE_CHECK_S * cpu_tick * 1000,
        "sse_bytes_per_min": 60 / SSE_KEEPALIVE_S * sse_keepalive_bytes,
        "sse_connections_held": 1,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.live_bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    options = parser.parse_args()
    with (
        throwaway_database("console_live_bench") as database_url,
        tempfile.TemporaryDirectory(prefix="live-bench-var-") as var_dir,
    ):
        django_ready(database_url, var_dir=var_dir)
        from django.db import connection

        vendor = connection.vendor
        figures = run(options.rounds)
        connection.close()
    print(f"database {vendor}, medians of {options.rounds} rounds (CPU = this process's time)")
    for name, value in figures.items():
        print(f"{name:32} {value:12.5f}")


if __name__ == "__main__":
    main()

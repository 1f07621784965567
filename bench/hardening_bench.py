"""Hardening: what a JSON Patch copy bomb and a slow-to-match diff cost, against ordinary work.

`python -m bench.hardening_bench [--rounds N]` runs in its own throwaway database (PostgreSQL
when DATABASE_URL names a server, else SQLite); `run()` returns the figures. Every request goes
through Django's test client in this process, so its time is the server's time (no network)
and tracemalloc sees its allocations. In one run:

- the copy bomb: one signed body under 1 MiB that `add`s a 900 kB string and `copy`s it 1,000
  times (900 MB once patched), against a Config target without a schema. Timed when refused
  for size (422) and when its agent is at the open-proposal limit (429), against an ordinary
  accepted submit (201) as the baseline; memory is the tracemalloc peak of one request and the
  RSS growth over all of them. Goals: refused in <= 50 ms and <= 50 MB.
- for reference, the unbounded path the submit check took before the size limit, on a bomb
  ten times smaller (90 kB copied 1,000 times): apply every copy, then canonicalize.
- the slow diff: a 600-line Markdown prompt with every other line blank and a ~90 kB unified
  diff that rewrites it (difflib's exact matcher without autojunk took 47 s per page view on
  such a pair); its proposal page, against the page of an ordinary one-line proposal, and
  `audit.gate.audit_gate_run` on it (the audit gate's own matcher; goal <= 2 s each).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from bench.common import django_ready, throwaway_database

ROUNDS = 7
BOMB_STRING_BYTES = 900_000
BOMB_COPIES = 1_000
GOAL_REFUSAL_S = 0.050
GOAL_REFUSAL_MEMORY_BYTES = 50 * 1024 * 1024
GOAL_PAGE_S = 2.0

# ratio name -> (measured figure, baseline figure, comparison, goal), read by `make bench`.
RATIOS: dict[str, tuple[str, str, str, float | None]] = {
    # Refusing the bomb costs about what an ordinary submit does (it parses, canonicalizes and
    # verifies a body 4,000 times larger, but stores nothing).
    "bomb_refusal_ratio": ("bomb_refusal_s", "submit_baseline_s", "<=", 5.0),
    "bomb_at_limit_ratio": ("bomb_at_limit_s", "submit_baseline_s", "<=", 5.0),
    # No goal for this ratio: the goal is the page's own time (<= 2 s, checked by main()); an
    # ordinary page shows how much of it is the diff.
    "slow_diff_page_ratio": ("slow_diff_page_s", "page_baseline_s", "<=", None),
}

WORDS = [
    "the",
    "agent",
    "must",
    "answer",
    "politely",
    "and",
    "never",
    "reveal",
    "secrets",
    "to",
    "a",
    "user",
    "refunds",
    "over",
    "the",
    "limit",
    "need",
    "approval",
    "invoices",
    "are",
    "sent",
    "by",
    "email",
    "within",
    "two",
    "days",
]


def copy_bomb(size: int = BOMB_STRING_BYTES, copies: int = BOMB_COPIES) -> str:
    operations: list[dict[str, Any]] = [{"op": "add", "path": "/s", "value": "x" * size}]
    operations += [{"op": "copy", "from": "/s", "path": f"/c{n}"} for n in range(copies)]
    return json.dumps(operations, separators=(",", ":"))


def blank_heavy_prompt(count: int, label: str, seed: int, words: int = 8) -> str:
    """Markdown with every other line blank: the shape that makes line matching quadratic."""
    rng = random.Random(seed)
    return "".join(
        "\n" if n % 2 else f"- {label} {n}: {' '.join(rng.choice(WORDS) for _ in range(words))}\n"
        for n in range(count)
    )


def _timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def _peak_bytes(call: Callable[[], Any]) -> int:
    """tracemalloc's peak of Python allocations during call, above what was held before."""
    tracemalloc.start()
    try:
        held = tracemalloc.get_traced_memory()[0]
        call()
        return tracemalloc.get_traced_memory()[1] - held
    finally:
        tracemalloc.stop()


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


class _World:
    """Agents, targets and signed bodies for the run."""

    def __init__(self, rounds: int) -> None:
        from django.contrib.auth.models import User
        from django.test import Client

        from patches.agents import agent_create
        from patches.client import make_proposal, sign_proposal
        from patches.formats import make_patch
        from patches.targets import target_create

        def agent(name: str) -> Any:
            return agent_create(name=name, actor="system:console")

        self.smith, self.busy = agent("bench-smith"), agent("bench-busy")
        self.config = target_create(
            name="bench-config",
            patch_type="Config",
            content=json.dumps({"name": "config"}),
            actor="system:console",
        )
        self.prompt = target_create(
            name="bench-prompt",
            patch_type="Prompt",
            content="You are a support agent.\nAnswer politely.\n",
            actor="system:console",
        )
        old = blank_heavy_prompt(600, "rule", 1)
        new = blank_heavy_prompt(2_450, "new rule", 2, words=7)
        self.long_prompt = target_create(
            name="bench-long-prompt", patch_type="Prompt", content=old, actor="system:console"
        )
        self.slow_patch = make_patch(content_kind="text", old=old, new=new)

        def body(persona: Any, target: Any, patch: str) -> bytes:
            proposal = make_proposal(
                target=target.name,
                patch_type=target.patch_type,
                base_version=1,
                patch=patch,
                reasoning="bench",
            )
            return json.dumps(sign_proposal(persona.private_key, proposal)).encode()

        self.body = body
        # Ordinary submits: distinct values, so no two are the same proposal.
        self.ordinary = [
            body(self.smith, self.config, json.dumps([{"op": "add", "path": "/n", "value": n}]))
            for n in range(rounds + 1)
        ]
        # A refused body stores nothing, not even its nonce: the same one can be sent again.
        self.bomb = body(self.smith, self.config, copy_bomb())
        self.busy_bomb = body(self.busy, self.config, copy_bomb())
        self.api = Client(HTTP_HOST="localhost")
        admin = User.objects.create_superuser("bench-admin", password="bench-admin-password")
        self.console = Client(HTTP_HOST="localhost")
        self.console.force_login(admin)

    def submit(self, body: bytes, persona: Any, expect: int) -> None:
        response = self.api.post(
            "/api/v1/proposals",
            data=body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {persona.token}",
        )
        if response.status_code != expect:
            raise RuntimeError(
                f"expected {expect}, got {response.status_code}: {response.content[:300]!r}"
            )

    def page(self, proposal_id: int) -> str:
        response = self.console.get(f"/proposals/{proposal_id}/")
        if response.status_code != 200:
            raise RuntimeError(f"proposal page answered {response.status_code}")
        return response.content.decode()


def _fill_open_limit(world: _World) -> None:
    """The busy agent gets as many open proposals as the limit allows."""
    from django.conf import settings

    from audit.gates import proposal_submit_and_gate

    for n in range(settings.API_MAX_PENDING_PER_AGENT):
        patch = json.dumps([{"op": "add", "path": "/busy", "value": n}])
        proposal_submit_and_gate(
            agent=world.busy.agent, body=world.body(world.busy, world.config, patch)
        )


def _bomb_figures(world: _World, rounds: int) -> dict[str, float]:
    from patches.canonical import canonical_text
    from patches.formats.json_patch import apply_json_patch

    world.submit(world.bomb, world.smith, 422)  # warm up: the first request loads modules
    baseline, refusal, at_limit = [], [], []
    for body in world.ordinary[:rounds]:  # interleaved, so machine load weighs on each alike
        baseline.append(_timed(lambda body=body: world.submit(body, world.smith, 201)))
        refusal.append(_timed(lambda: world.submit(world.bomb, world.smith, 422)))
        at_limit.append(_timed(lambda: world.submit(world.busy_bomb, world.busy, 429)))
    rss_before = _rss()
    for _ in range(rounds):
        world.submit(world.bomb, world.smith, 422)
        world.submit(world.busy_bomb, world.busy, 429)
    rss_growth = _rss() - rss_before
    refusal_peak = _peak_bytes(lambda: world.submit(world.bomb, world.smith, 422))
    at_limit_peak = _peak_bytes(lambda: world.submit(world.busy_bomb, world.busy, 429))
    baseline_peak = _peak_bytes(lambda: world.submit(world.ordinary[rounds], world.smith, 201))

    # The old path on a bomb ten times smaller: every copy applied, then canonicalized.
    small_bomb = copy_bomb(BOMB_STRING_BYTES // 10)

    def unbounded() -> None:
        canonical_text(apply_json_patch({"name": "config"}, small_bomb, max_bytes=2**62))

    unbounded_s = _timed(unbounded)
    unbounded_peak = _peak_bytes(unbounded)
    return {
        "submit_baseline_s": min(baseline),
        "submit_baseline_median_s": statistics.median(baseline),
        "bomb_refusal_s": min(refusal),
        "bomb_refusal_median_s": statistics.median(refusal),
        "bomb_refusal_max_s": max(refusal),
        "bomb_at_limit_s": min(at_limit),
        "bomb_at_limit_median_s": statistics.median(at_limit),
        "bomb_refusal_ratio": min(refusal) / min(baseline),
        "bomb_at_limit_ratio": min(at_limit) / min(baseline),
        "bomb_refusal_peak_mb": refusal_peak / 1e6,
        "bomb_at_limit_peak_mb": at_limit_peak / 1e6,
        "submit_baseline_peak_kb": baseline_peak / 1e3,
        "bomb_rss_growth_mb": rss_growth / 1e6,
        "bomb_tenth_unbounded_s": unbounded_s,
        "bomb_tenth_unbounded_peak_mb": unbounded_peak / 1e6,
        "bomb_body_kb": len(world.bomb) / 1e3,
    }


def _diff_figures(world: _World, rounds: int) -> dict[str, float]:
    from audit.gate import audit_gate_run
    from audit.gates import proposal_submit_and_gate
    from patches.formats import make_patch
    from patches.models import TargetVersion
    from patches.testgate.runner import gate_run

    def proposal(persona: Any, target: Any, patch: str) -> Any:
        return proposal_submit_and_gate(
            agent=persona.agent, body=world.body(persona, target, patch)
        )

    base = TargetVersion.objects.get(target=world.prompt, version=1).content
    ordinary = proposal(
        world.smith,
        world.prompt,
        make_patch(content_kind="text", old=base, new=base.replace("politely", "briefly")),
    )
    slow = proposal(world.smith, world.long_prompt, world.slow_patch)
    html = world.page(slow.pk)
    if 'data-testid="diff-coarse"' not in html:
        raise RuntimeError("the slow diff was matched exactly: the bench no longer measures it")
    page_baseline, slow_page = [], []
    for _ in range(rounds):
        page_baseline.append(_timed(lambda: world.page(ordinary.pk)))
        slow_page.append(_timed(lambda: world.page(slow.pk)))
    gate_run(proposal_id=slow.pk)
    slow.refresh_from_db()
    if slow.status != "in_review":
        raise RuntimeError(f"the slow-diff proposal did not pass its test gate: {slow.reason}")
    audit_s = _timed(lambda: audit_gate_run(proposal_id=slow.pk))
    if not slow.findings.exists():
        raise RuntimeError("the audit gate recorded no findings: it did not run")
    return {
        "slow_diff_patch_kb": len(world.slow_patch) / 1e3,
        "page_baseline_s": min(page_baseline),
        "slow_diff_page_s": min(slow_page),
        "slow_diff_page_median_s": statistics.median(slow_page),
        "slow_diff_page_ratio": min(slow_page) / min(page_baseline),
        "slow_diff_audit_gate_s": audit_s,
    }


def run(rounds: int = ROUNDS) -> dict[str, float]:
    """Figures of both cases; ratios against the baselines measured in the same run."""
    # Each refusal would log a warning line; the figures are what this bench prints.
    logging.getLogger("django.request").setLevel(logging.ERROR)
    world = _World(rounds)
    _fill_open_limit(world)
    return {**_bomb_figures(world, rounds), **_diff_figures(world, rounds)}


def _verdict(ok: bool) -> str:
    return "pass" if ok else "FAIL"


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.hardening_bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    options = parser.parse_args()
    with (
        throwaway_database("console_hardening_bench") as database_url,
        tempfile.TemporaryDirectory(prefix="hardening-bench-var-") as var_dir,
    ):
        django_ready(database_url, var_dir=var_dir)
        from django.db import connection

        vendor = connection.vendor
        figures = run(options.rounds)
        connection.close()
    print(f"database {vendor}, best of {options.rounds} unless named otherwise")
    for name, value in figures.items():
        print(f"{name:32} {value:10.4f}")
    f = figures
    peak = max(f["bomb_refusal_peak_mb"], f["bomb_at_limit_peak_mb"], f["bomb_rss_growth_mb"])
    print()
    print(
        f"copy bomb ({f['bomb_body_kb']:.0f} kB body) refused (422) in "
        f"{f['bomb_refusal_s'] * 1000:.1f} ms (median {f['bomb_refusal_median_s'] * 1000:.1f}, "
        f"worst {f['bomb_refusal_max_s'] * 1000:.1f}), {f['bomb_refusal_ratio']:.2f}x an "
        f"ordinary submit ({f['submit_baseline_s'] * 1000:.1f} ms): "
        f"{_verdict(f['bomb_refusal_max_s'] <= GOAL_REFUSAL_S)} (goal <= 50 ms)"
    )
    print(
        f"copy bomb at the open-proposal limit refused (429) in "
        f"{f['bomb_at_limit_s'] * 1000:.1f} ms, {f['bomb_at_limit_ratio']:.2f}x an ordinary submit"
    )
    print(
        f"memory: peak {f['bomb_refusal_peak_mb']:.1f} MB per refusal (ordinary submit "
        f"{f['submit_baseline_peak_kb']:.0f} kB), RSS growth {f['bomb_rss_growth_mb']:.1f} MB "
        f"over {2 * options.rounds} refusals: "
        f"{_verdict(peak * 1e6 <= GOAL_REFUSAL_MEMORY_BYTES)} (goal <= 50 MB)"
    )
    print(
        f"for reference, the unbounded path on a bomb 10x smaller: "
        f"{f['bomb_tenth_unbounded_s']:.2f} s, peak {f['bomb_tenth_unbounded_peak_mb']:.0f} MB"
    )
    print(
        f"slow diff ({f['slow_diff_patch_kb']:.0f} kB patch, 600-line prompt): proposal page "
        f"{f['slow_diff_page_s']:.3f} s, {f['slow_diff_page_ratio']:.1f}x an ordinary page "
        f"({f['page_baseline_s'] * 1000:.1f} ms): "
        f"{_verdict(f['slow_diff_page_median_s'] <= GOAL_PAGE_S)} (goal <= 2 s)"
    )
    print(
        f"slow diff: audit_gate_run {f['slow_diff_audit_gate_s']:.3f} s: "
        f"{_verdict(f['slow_diff_audit_gate_s'] <= GOAL_PAGE_S)} (goal <= 2 s; audit/findings.py)"
    )


if __name__ == "__main__":
    main()

"""Line matching has a bounded cost: texts with many repeated lines (blank lines in a long
Markdown prompt) get a coarser diff, which still shows every line and says it is coarser."""

from __future__ import annotations

import random
from difflib import SequenceMatcher

import pytest
from django.test import Client

from console.diffs import build_diff
from console.diffs.matching import line_opcodes
from tests.diffs.conftest import render, rows_of

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
    "about",
    "refunds",
]


def blank_heavy(count: int, label: str, seed: int) -> str:
    """A Markdown prompt whose every other line is blank, the rest numbered prose."""
    rng = random.Random(seed)
    lines = [
        "\n" if n % 2 else f"- {label} {n}: {' '.join(rng.choice(WORDS) for _ in range(6))}\n"
        for n in range(count)
    ]
    return "".join(lines)


def sides(diff) -> tuple[list[int], list[int]]:
    """The old and the new line numbers the rows show, in order (unified mode, context all)."""
    rows = rows_of(diff)
    old = [row.old_number for row in rows if row.kind in ("equal", "delete")]
    new = [row.new_number for row in rows if row.kind in ("equal", "insert")]
    return old, new


def test_a_rewrite_of_a_text_with_many_blank_lines_gets_a_coarser_diff_with_a_note():
    old, new = blank_heavy(600, "old rule", 1), blank_heavy(600, "new rule", 2)
    diff = build_diff(old=old, new=new, language="markdown", max_lines=None, context=10**6)
    assert diff.coarse
    html = render(diff)
    assert 'data-testid="diff-coarse"' in html
    assert "This diff is coarser than usual" in html
    # Coarser, not wrong: every line of both sides is shown once, in order.
    assert sides(diff) == (list(range(1, 601)), list(range(1, 601)))
    assert (
        diff.added == diff.removed == 600 - sum(1 for row in rows_of(diff) if row.kind == "equal")
    )


def test_the_coarser_diff_still_matches_the_unchanged_lines_around_the_rewrite():
    head = "".join(f"# Heading {n}\n" for n in range(50))
    tail = "".join(f"Closing rule {n}.\n" for n in range(50))
    old = head + blank_heavy(600, "old rule", 1) + "Keep this line.\n" + tail
    new = head + blank_heavy(700, "new rule", 2) + "Keep this line.\n" + tail
    diff = build_diff(old=old, new=new, max_lines=None, context=10**6)
    assert diff.coarse
    equal = {row.new_number for row in rows_of(diff) if row.kind == "equal"}
    assert set(range(1, 51)) <= equal  # the head
    assert 751 in equal  # "Keep this line.", unique on both sides
    assert set(range(752, 802)) <= equal  # the tail
    assert sides(diff) == (list(range(1, 702)), list(range(1, 802)))


def test_the_coarser_diff_is_the_same_every_time():
    old, new = blank_heavy(600, "old rule", 1), blank_heavy(600, "new rule", 2)
    assert line_opcodes(old.splitlines(True), new.splitlines(True)) == line_opcodes(
        old.splitlines(True), new.splitlines(True)
    )


def test_an_ordinary_diff_is_exact_and_has_no_note():
    old = "".join(f"line {n}\n" for n in range(500))
    new = old.replace("line 250\n", "line 250 changed\n").replace("line 10\n", "")
    diff = build_diff(old=old, new=new)
    assert not diff.coarse
    assert (diff.added, diff.removed) == (1, 2)
    assert 'data-testid="diff-coarse"' not in render(diff)


@pytest.mark.parametrize("seed", range(200))
def test_within_the_budget_the_opcodes_are_difflibs_own(seed):
    rng = random.Random(seed)
    pool = ["\n", "a\n", "b\n", *(f"line {n}\n" for n in range(rng.randrange(1, 40)))]
    old = [rng.choice(pool) for _ in range(rng.randrange(0, 80))]
    new = [rng.choice(pool) for _ in range(rng.randrange(0, 80))]
    opcodes, coarse = line_opcodes(old, new)
    assert not coarse
    assert opcodes == SequenceMatcher(None, old, new, autojunk=False).get_opcodes()


@pytest.mark.django_db
def test_the_proposal_page_of_a_blank_heavy_rewrite_shows_the_coarser_diff_note():
    from audit.gates import proposal_submit_and_gate
    from patches.formats import make_patch
    from tests.factories import (
        canonical_body,
        make_agent,
        make_reviewer,
        make_target,
        proposal_body,
        signed_envelope,
    )

    old, new = blank_heavy(600, "old rule", 1), blank_heavy(600, "new rule", 2)
    agent = make_agent("agent-smith")
    target = make_target("long_prompt", "Prompt", old)
    body = proposal_body(target=target, patch=make_patch(content_kind="text", old=old, new=new))
    proposal = proposal_submit_and_gate(
        agent=agent.agent, body=canonical_body(signed_envelope(agent, body))
    )
    client = Client()
    client.force_login(make_reviewer("rita", admin=True))
    response = client.get(f"/proposals/{proposal.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="diff"' in html
    assert 'data-testid="diff-coarse"' in html

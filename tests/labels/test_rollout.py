"""The rollout bucket as the contract computes it, pinned against values worked out by hand."""

from __future__ import annotations

import hashlib

from patches.rollout import LabelState, bucket


def test_the_bucket_is_the_first_four_bytes_of_sha256_big_endian_mod_100():
    for name, first_four, expected in PINNED:
        digest = hashlib.sha256(name.encode("utf-8")).digest()
        assert digest[:4].hex() == first_four
        assert int(first_four, 16) % 100 == expected
        target, label, instance = name.split("/", 2)
        assert bucket(target, label, instance) == expected


def test_an_instance_name_with_a_slash_and_non_ascii_is_hashed_as_utf_8():
    assert bucket("router", "canary", "eu/west/ü") == PINNED[-1][2]


def test_a_rollout_serves_to_version_below_percent_and_from_version_to_the_rest():
    state = LabelState(version=3, from_version=2, percent=10)
    for name, _, expected in PINNED:
        target, label, instance = name.split("/", 2)
        served = state.served(target=target, label=label, instance=instance)
        assert served == (3 if expected < 10 else 2)


def test_a_step_keeps_the_from_version_and_a_move_back_aborts():
    start = LabelState(version=2).after_move(to_version=3, percent=10)
    assert start == LabelState(version=3, from_version=2, percent=10)
    step = start.after_move(to_version=3, percent=50)
    assert step == LabelState(version=3, from_version=2, percent=50)
    assert step.moved_from(3) == 2
    assert step.after_move(to_version=3, percent=100) == LabelState(version=3)
    assert step.moved_from(2) == 3  # the abort is recorded as 3 → 2
    assert step.after_move(to_version=2, percent=100) == LabelState(version=2)


# (target/label/instance, the first 4 bytes of its SHA-256 in hex, that number mod 100),
# computed once with hashlib and written out: 0x57248f5d = 1462013789, mod 100 = 89; …
PINNED: list[tuple[str, str, int]] = [
    ("router/production/agent-1", "57248f5d", 89),
    ("router/canary/agent-smith", "34fbbc65", 97),
    ("system_prompt/production/i-0", "2d5b7dc8", 96),
    ("router/canary/i-12", "213eeaee", 2),  # 557771502
    ("router/canary/i-19", "e2cb33e3", 7),  # 3804967907
    ("router/canary/i-29", "8f292d76", 2),  # 2401840502
    ("router/canary/eu/west/ü", "1a3d4191", 97),  # 440222097
]

"""The log's Merkle tree: RFC 6962/9162 vectors, and proofs checked by an independent reference.

The vectors under vectors/merkle are transparency-dev/merkle's (Apache 2.0; see its README).
The reference below is written straight from RFC 9162 section 2.1 as recursive definitions over
the leaves (MTH, PATH, SUBPROOF), deliberately unlike the iterative code under test. No
maintained PyPI package fits: pymerkle (the one maintained candidate) uses its own proof format
rather than RFC 9162 audit paths, is GPL-3.0 and pins its own dependencies exactly.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from functools import lru_cache
from pathlib import Path

import pytest

from patches.client.tlog import ProofError, verify_consistency, verify_inclusion
from patches.merkle import CompactRange, consistency_proof, inclusion_proof, tree_root

VECTORS = Path(__file__).parent / "vectors" / "merkle" / "testdata"


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value) if value else b""


def _cases(kind: str) -> list[Path]:
    return sorted((VECTORS / kind).rglob("*.json"))


@pytest.mark.parametrize("path", _cases("inclusion"), ids=lambda p: str(p.relative_to(VECTORS)))
def test_every_inclusion_vector_verifies_or_is_refused_as_it_says(path):
    case = json.loads(path.read_text())
    proof = [_b64(p) for p in case["proof"] or []]

    def run() -> None:
        verify_inclusion(
            case["leafIdx"], case["treeSize"], _b64(case["leafHash"]), proof, _b64(case["root"])
        )

    if case["wantErr"]:
        with pytest.raises(ProofError):
            run()
    else:
        run()


@pytest.mark.parametrize("path", _cases("consistency"), ids=lambda p: str(p.relative_to(VECTORS)))
def test_every_consistency_vector_verifies_or_is_refused_as_it_says(path):
    case = json.loads(path.read_text())
    proof = [_b64(p) for p in case["proof"] or []]

    def run() -> None:
        verify_consistency(
            case["size1"], case["size2"], _b64(case["root1"]), _b64(case["root2"]), proof
        )

    if case["wantErr"]:
        with pytest.raises(ProofError):
            run()
    else:
        run()


def test_the_vector_files_are_all_read():
    assert len(_cases("inclusion")) + len(_cases("consistency")) == 196


# --- the independent reference, RFC 9162 section 2.1, recursive over the leaves -------------


class Reference:
    def __init__(self, entries: list[bytes]) -> None:
        self.entries = entries
        self.mth = lru_cache(maxsize=None)(self._mth)

    @staticmethod
    def _k(n: int) -> int:
        k = 1
        while k * 2 < n:
            k *= 2
        return k

    def _mth(self, start: int, end: int) -> bytes:
        n = end - start
        if n == 1:
            return hashlib.sha256(b"\x00" + self.entries[start]).digest()
        k = self._k(n)
        return hashlib.sha256(
            b"\x01" + self.mth(start, start + k) + self.mth(start + k, end)
        ).digest()

    def path(self, m: int, start: int, end: int) -> list[bytes]:
        n = end - start
        if n == 1:
            return []
        k = self._k(n)
        if m < k:
            return [*self.path(m, start, start + k), self.mth(start + k, end)]
        return [*self.path(m - k, start + k, end), self.mth(start, start + k)]

    def subproof(self, m: int, start: int, end: int, whole: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if whole else [self.mth(start, end)]
        k = self._k(n)
        if m <= k:
            return [*self.subproof(m, start, start + k, whole), self.mth(start + k, end)]
        return [*self.subproof(m - k, start + k, end, False), self.mth(start, start + k)]

    def root_from_path(self, m: int, n: int, leaf: bytes, proof: list[bytes]) -> bytes:
        """Recompute the root from a PATH by the same recursion, consuming it from the end."""
        if n == 1:
            assert not proof
            return leaf
        k = self._k(n)
        *inner, last = proof
        if m < k:
            return hashlib.sha256(b"\x01" + self.root_from_path(m, k, leaf, inner) + last).digest()
        return hashlib.sha256(
            b"\x01" + last + self.root_from_path(m - k, n - k, leaf, inner)
        ).digest()


def _stored(size: int) -> tuple[list[bytes], dict[tuple[int, int], bytes]]:
    entries = [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(size)]
    tree, nodes = CompactRange(), {}
    for entry in entries:
        for level, index, digest in tree.append(entry):
            nodes[(level, index)] = digest
    return entries, nodes


def _reader(nodes):
    return lambda wanted: {key: nodes[key] for key in wanted if key in nodes}


@pytest.mark.parametrize("size", [*range(1, 40), 64, 65, 1000, 4097, 100_000])
def test_proofs_of_random_trees_match_the_reference_and_verify_by_it(size):
    rng = random.Random(size)
    entries, nodes = _stored(size)
    read = _reader(nodes)
    reference = Reference(entries)
    root = tree_root(size, read)
    assert root == reference.mth(0, size)
    for index in {0, size - 1, *(rng.randrange(size) for _ in range(5))}:
        proof = inclusion_proof(index, size, read)
        assert proof == reference.path(index, 0, size)
        leaf = hashlib.sha256(b"\x00" + entries[index]).digest()
        assert reference.root_from_path(index, size, leaf, proof) == root
        verify_inclusion(index, size, leaf, proof, root)
    for old in {1, size - 1, *(rng.randrange(1, size + 1) for _ in range(5))}:
        if not 0 < old < size:
            continue
        proof = consistency_proof(old, size, read)
        assert proof == reference.subproof(old, 0, size, True)
        verify_consistency(old, size, reference.mth(0, old), root, proof)


def test_a_proof_against_an_older_size_reads_only_the_stored_nodes_it_needs():
    _entries, nodes = _stored(1000)
    asked: list[set[tuple[int, int]]] = []

    def read(wanted):
        asked.append(set(wanted))
        return {key: nodes[key] for key in wanted}

    inclusion_proof(123, 777, read)
    assert len(asked) == 1 and len(asked[0]) <= 10 * 10


def test_a_tree_missing_stored_nodes_is_an_error_not_a_wrong_proof():
    _entries, nodes = _stored(10)
    with pytest.raises(LookupError):
        inclusion_proof(3, 11, _reader(nodes))

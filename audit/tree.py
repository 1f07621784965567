"""The log's Merkle tree in the database: stored complete nodes, grown by the checkpoint signer.

The signer extends the tree to the head it signs (after it checked those events), so appends
pay nothing for the tree; proofs read O(log² n) stored nodes (patches.merkle), never the log.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db.models import Max

from audit.models import MerkleNode
from patches import merkle
from patches.client.tlog import event_entry
from patches.models import Event

CHUNK_SIZE = 20_000


LEVELS = 64  # more than a 2^63-leaf tree has


def node_key(level: int, index: int) -> int:
    return index * LEVELS + level


def tree_size() -> int:
    """How many leaves the stored tree holds."""
    # The last leaf has the largest index of any node, so the largest key: it is a leaf.
    last = MerkleNode.objects.aggregate(last=Max("node"))["last"]
    return 0 if last is None else last // LEVELS + 1


def nodes_read(wanted: set[merkle.Node]) -> Mapping[merkle.Node, bytes]:
    """The stored hashes of the wanted nodes, in one primary-key query (values only, no rows
    built)."""
    if not wanted:
        return {}
    keys = [node_key(level, index) for level, index in wanted]
    rows = MerkleNode.objects.filter(node__in=keys).values_list("node", "hash")
    return {(key % LEVELS, key // LEVELS): bytes(digest) for key, digest in rows}


def tree_extend(*, upto: int) -> int:
    """Grow the stored tree to `upto` leaves (events 1..upto); returns the new size. Call it
    under the chain lock, after the events were checked (audit.checkpoints)."""
    size = tree_size()
    if size >= upto:
        return size
    edge_nodes = merkle.range_nodes(0, size)
    stored = nodes_read(set(edge_nodes))
    tree = merkle.CompactRange(size, [stored[node] for node in edge_nodes])
    after = size
    while after < upto:
        hashes = list(
            Event.objects.filter(seq__gt=after, seq__lte=upto)
            .order_by("seq")
            .values_list("seq", "hash")[:CHUNK_SIZE]
        )
        if not hashes or hashes[0][0] != after + 1:
            raise LookupError(f"the log has no event at seq {after + 1}")
        new_nodes = [
            MerkleNode(node=node_key(level, index), hash=digest)
            for _seq, event_hash in hashes
            for level, index, digest in tree.append(event_entry(event_hash))
        ]
        MerkleNode.objects.bulk_create(new_nodes, batch_size=5000)
        after = hashes[-1][0]
    return tree.size


def tree_root(size: int) -> bytes:
    return merkle.tree_root(size, nodes_read)


def inclusion_proof(index: int, size: int) -> list[bytes]:
    return merkle.inclusion_proof(index, size, nodes_read)


def consistency_proof(size1: int, size2: int) -> list[bytes]:
    if size1 == 0 or size1 == size2:
        return []
    return merkle.consistency_proof(size1, size2, nodes_read)

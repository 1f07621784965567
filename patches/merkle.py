"""The log's Merkle tree (RFC 9162 section 2.1), pure: which stored nodes a proof needs, and how
the tree grows. No Django, so the signer, the API and the stand-alone verifier share it.

The console stores every *complete* node: (level, index) is the hash of the perfect subtree of
leaves [index·2^level, (index+1)·2^level). Any subtree the RFC's recursion names, [start, end),
is the right fold of at most log2(n) complete nodes, so a proof for any tree size reads
O(log² n) stored hashes and never the whole log. Hashing and proof checks are in
patches.client.tlog (the agent's side installs alone, and there is one implementation of them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from patches.client.tlog import leaf_hash, node_hash

Node = tuple[int, int]  # (level, index)
Range = tuple[int, int]  # [start, end) leaves
NodeReader = Callable[[set[Node]], Mapping[Node, bytes]]


def _split(size: int) -> int:
    """The largest power of two strictly less than size (size > 1), as RFC 9162 splits."""
    return 1 << ((size - 1).bit_length() - 1)


def range_nodes(start: int, end: int) -> list[Node]:
    """The complete nodes that make up leaves [start, end), largest first."""
    nodes = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start:
            level = min(level, (start & -start).bit_length() - 1)
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def fold(hashes: Sequence[bytes]) -> bytes:
    """MTH of a range from its complete nodes, largest (leftmost) first: the right fold."""
    root = hashes[-1]
    for left in reversed(hashes[:-1]):
        root = node_hash(left, root)
    return root


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """PATH(index, D[0:size]) of RFC 9162 2.1.3.1 as subtree ranges, leaf's sibling first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    ranges: list[Range] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    return ranges[::-1]


def consistency_ranges(size1: int, size2: int) -> list[Range]:
    """PROOF(size1, D[0:size2]) of RFC 9162 2.1.4.1 as subtree ranges (0 < size1 < size2)."""
    if not 0 < size1 < size2:
        raise ValueError(f"no consistency proof from size {size1} to size {size2}")
    ranges: list[Range] = []
    m, start, end, whole = size1, 0, size2, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            m -= k
            start += k
            whole = False
    if not whole:
        ranges.append((start, end))
    return ranges[::-1]


def nodes_of(ranges: Iterable[Range]) -> set[Node]:
    return {node for start, end in ranges for node in range_nodes(start, end)}


def hashes_of(ranges: Iterable[Range], nodes: Mapping[Node, bytes]) -> list[bytes]:
    return [fold([nodes[n] for n in range_nodes(start, end)]) for start, end in ranges]


def _read(ranges: list[Range], read: NodeReader) -> list[bytes]:
    wanted = nodes_of(ranges)
    nodes = read(wanted)
    missing = wanted - set(nodes)
    if missing:
        raise LookupError(f"the stored tree lacks {len(missing)} nodes, e.g. {min(missing)}")
    return hashes_of(ranges, nodes)


def tree_root(size: int, read: NodeReader) -> bytes:
    if size < 1:
        raise ValueError("an empty log has no root to sign")
    return _read([(0, size)], read)[0]


def inclusion_proof(index: int, size: int, read: NodeReader) -> list[bytes]:
    return _read(inclusion_ranges(index, size), read)


def consistency_proof(size1: int, size2: int, read: NodeReader) -> list[bytes]:
    return _read(consistency_ranges(size1, size2), read)


class CompactRange:
    """The right edge of a growing tree: the complete nodes of [0, size), largest first.

    Appending a leaf merges equal-sized nodes; every node it completes is reported, which is
    what the console stores. `root` is the tree's root at the current size. The stand-alone
    verifier uses it to recompute each signed root from the events, in one pass.
    """

    def __init__(self, size: int = 0, edge: Sequence[bytes] = ()) -> None:
        levels = [level for level, _index in range_nodes(0, size)]
        if len(levels) != len(edge):
            raise ValueError(f"a tree of size {size} has {len(levels)} edge nodes")
        self.size = size
        self._edge = list(zip(levels, edge, strict=True))

    def append(self, entry_hash: bytes) -> list[tuple[int, int, bytes]]:
        """Add one leaf (given the leaf's entry); returns the completed (level, index, hash)."""
        done = [(0, self.size, leaf_hash(entry_hash))]
        level, digest = 0, done[0][2]
        edge = self._edge
        while edge and edge[-1][0] == level:
            _, left = edge.pop()
            level, digest = level + 1, node_hash(left, digest)
            done.append((level, self.size >> level, digest))
        edge.append((level, digest))
        self.size += 1
        return done

    @property
    def root(self) -> bytes:
        if not self._edge:
            raise ValueError("an empty tree has no root")
        return fold([digest for _level, digest in self._edge])

"""RFC 9162 (Certificate Transparency v2) Merkle tree hashing, proofs and their verifiers.

Pure functions, no I/O. Written here rather than taken from a package on purpose: Python
Merkle packages have accepted forged consistency proofs (pymerkle < 7), and a verifier is only
as good as its shape checks. The verifiers follow RFC 9162 sections 2.1.3.2 and 2.1.4.2: the
proof's shape comes from the index and the tree sizes alone, every hash must be consumed, and
an extra, missing or altered hash fails.

Trees are left-dense: a tree of n leaves splits at k, the largest power of two smaller than n,
and an odd last node is carried up unchanged, never duplicated (RFC 9162 section 2.1.1).
Perfect subtrees are named (level, index): the subtree of 2**level leaves starting at leaf
index * 2**level.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

Node = tuple[int, int]


def leaf_hash(entry: bytes) -> bytes:
    """SHA-256(0x00 || entry): the 0x00 prefix keeps leaves and nodes in separate domains."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes, level by level (iterative, so a million leaves is fine)."""
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def subtrees(start: int, end: int) -> list[Node]:
    """The perfect subtrees that make up MTH(D[start:end]), left to right.

    ``start`` must be aligned to the range (as every range in RFC 9162's recursion is), so
    the range is the left-dense tree of its size, whose parts follow the bits of its size.
    """
    nodes: list[Node] = []
    size = end - start
    offset = start
    while size:
        level = size.bit_length() - 1
        nodes.append((level, offset >> level))
        offset += 1 << level
        size -= 1 << level
    return nodes


def fold(hashes: Sequence[bytes]) -> bytes:
    """Combine a left-dense range's perfect-subtree hashes (from ``subtrees``) into its root."""
    root = hashes[-1]
    for h in reversed(hashes[:-1]):
        root = node_hash(h, root)
    return root


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose MTH make up PATH(index, D[0:size]), in proof order."""
    if not 0 <= index < size:
        raise ValueError("index outside the tree")
    ranges: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        k = split(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()
    return ranges


def consistency_ranges(old: int, new: int) -> list[tuple[int, int]]:
    """The leaf ranges whose MTH make up PROOF(old, D[0:new]) (RFC 9162 2.1.4.1)."""
    if not 0 < old <= new:
        raise ValueError("sizes out of order")
    ranges: list[tuple[int, int]] = []
    start, end, m, whole = 0, new, old, True
    while m != end - start:
        k = split(end - start)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, m, whole = start + k, m - k, False
    if not whole:
        ranges.append((start, end))
    ranges.reverse()
    return ranges


def proof_from_leaves(leaves: Sequence[bytes], ranges: Sequence[tuple[int, int]]) -> list[bytes]:
    """Build a proof from in-memory leaf hashes (tests and small logs)."""
    return [root_of(leaves[a:b]) for a, b in ranges]


def _eq(a: bytes, b: bytes) -> bool:
    return len(a) == len(b) == HASH_SIZE and hmac.compare_digest(a, b)


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes | None:
    """RFC 9162 2.1.3.2: the root the proof leads to, or None when its shape is wrong."""
    if not 0 <= index < size or len(leaf) != HASH_SIZE:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0 or len(p) != HASH_SIZE:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    computed = root_from_inclusion(index, size, leaf, proof)
    return computed is not None and _eq(computed, root)


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 2.1.4.2. An empty tree is a prefix of every tree, with an empty proof."""
    if old < 0 or old > new:
        return False
    if old == new:
        return not proof and _eq(old_root, new_root)
    if old == 0:
        return not proof and _eq(old_root, EMPTY_ROOT) and len(new_root) == HASH_SIZE
    if not proof or any(len(p) != HASH_SIZE for p in proof):
        return False
    path = list(proof)
    if old & (old - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and _eq(fr, old_root) and _eq(sr, new_root)


class CompactRange:
    """The frontier of a log: the roots of its perfect subtrees, largest first.

    Appending a leaf costs O(log n) and yields every perfect subtree it completes, so the
    sequencer extends the stored tree without rereading the log.
    """

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != size.bit_count():
            raise ValueError("frontier does not match the tree size")
        self.size = size
        self.hashes = list(hashes)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf; return the (level, index, hash) of every subtree it completes."""
        created = [(0, self.size, leaf)]
        h, idx, level = leaf, self.size, 0
        while idx & 1:
            h = node_hash(self.hashes.pop(), h)
            idx >>= 1
            level += 1
            created.append((level, idx, h))
        self.hashes.append(h)
        self.size += 1
        return created

    def root(self) -> bytes:
        return fold(self.hashes) if self.hashes else EMPTY_ROOT

    def to_bytes(self) -> bytes:
        return b"".join(self.hashes)

    @classmethod
    def from_bytes(cls, size: int, data: bytes) -> CompactRange:
        hashes = [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]
        return cls(size, hashes)

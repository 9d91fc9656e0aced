"""RFC 6962 / 9162 Merkle hashing and proofs against published vectors, plus properties.

The vectors are the 8-leaf set published in transparency-dev/merkle (formerly Trillian's
merkle/testonly and proof/verify_test.go), which certificate-transparency-go shares.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carecall.audit import merkle

LEAVES = [
    bytes.fromhex(h)
    for h in [
        "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
ROOTS = [  # by tree size 1..8
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")
# (leaf number, 1-based as published; tree size; proof)
INCLUSION = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (3, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (2, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]
CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]
HASHES = [merkle.leaf_hash(x) for x in LEAVES]


def _root(size: int) -> bytes:
    return bytes.fromhex(ROOTS[size - 1])


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    assert merkle.root_of([]).hex() == EMPTY
    assert merkle.CompactRange().root().hex() == EMPTY


@pytest.mark.parametrize("size", range(1, 9))
def test_published_roots(size: int) -> None:
    assert merkle.root_of(HASHES[:size]).hex() == ROOTS[size - 1]
    tree = merkle.CompactRange()
    for h in HASHES[:size]:
        tree.append(h)
    assert tree.root().hex() == ROOTS[size - 1]


@pytest.mark.parametrize(("leaf", "size", "proof"), INCLUSION)
def test_published_inclusion_proofs(leaf: int, size: int, proof: list[str]) -> None:
    index = leaf - 1
    generated = merkle.proof_from_leaves(HASHES, merkle.inclusion_ranges(index, size))
    assert [h.hex() for h in generated] == proof
    assert merkle.verify_inclusion(index, size, HASHES[index], generated, _root(size))


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY)
def test_published_consistency_proofs(old: int, new: int, proof: list[str]) -> None:
    generated = merkle.proof_from_leaves(HASHES, merkle.consistency_ranges(old, new))
    assert [h.hex() for h in generated] == proof
    assert merkle.verify_consistency(old, new, _root(old), _root(new), generated)


def _flip(h: bytes, bit: int = 3) -> bytes:
    return bytes([h[0] ^ (1 << bit)]) + h[1:]


@pytest.mark.parametrize(("leaf", "size", "proof"), [v for v in INCLUSION if v[2]])
def test_corrupted_inclusion_proofs_fail(leaf: int, size: int, proof: list[str]) -> None:
    """The probes transparency-dev/merkle applies to the same vectors."""
    i, root, leaf_h = leaf - 1, _root(size), HASHES[leaf - 1]
    p = [bytes.fromhex(h) for h in proof]
    probes = [
        (i - 1, size, leaf_h, p, root), (i + 1, size, leaf_h, p, root),
        (i ^ 2, size, leaf_h, p, root), (i, size * 2, leaf_h, p, root),
        (i, size // 2, leaf_h, p, root), (i, size, b"WrongLeaf", p, root),
        (i, size, leaf_h, p, bytes.fromhex(EMPTY)), (i, size, leaf_h, p, SOME_HASH),
        (i, size, leaf_h, [*p, b""], root), (i, size, leaf_h, [*p, root], root),
        (i, size, leaf_h, [b"", *p], root), (i, size, leaf_h, [root, *p], root),
        (i, size, leaf_h, p[:-1], root),
    ]
    probes += [(i, size, leaf_h, [*p[:k], _flip(p[k]), *p[k + 1:]], root) for k in range(len(p))]
    if len(p) > 1:
        probes.append((i, size, leaf_h, [p[0], SOME_HASH, *p[1:]], root))
    for index, n, lh, proof_, r in probes:
        assert not merkle.verify_inclusion(index, n, lh, proof_, r)


@pytest.mark.parametrize(("old", "new", "proof"), [v for v in CONSISTENCY if v[2]])
def test_corrupted_consistency_proofs_fail(old: int, new: int, proof: list[str]) -> None:
    r1, r2 = _root(old), _root(new)
    p = [bytes.fromhex(h) for h in proof]
    probes = [
        (old - 1, new, r1, r2, p), (old + 1, new, r1, r2, p), (old ^ 2, new, r1, r2, p),
        (old, new * 2, r1, r2, p), (old, new // 2, r1, r2, p),
        (old, new, b"WrongRoot", r2, p), (old, new, r1, b"WrongRoot", p), (old, new, r2, r1, p),
        (old, new, r1, r2, []), (old, new, r1, r2, [*p, b""]), (old, new, r1, r2, [*p, r1]),
        (old, new, r1, r2, [*p, r2]), (old, new, r1, r2, [b"", *p]),
        (old, new, r1, r2, [r1, *p]), (old, new, r1, r2, [r2, *p]),
        (old, new, r1, r2, [p[0], *p]), (old, new, r1, r2, p[:-1]),
    ]
    probes += [(old, new, r1, r2, [*p[:k], _flip(p[k], 4), *p[k + 1:]]) for k in range(len(p))]
    for a, b, ra, rb, proof_ in probes:
        assert not merkle.verify_consistency(a, b, ra, rb, proof_), (a, b)


def test_trivial_consistency_cases() -> None:
    empty = bytes.fromhex(EMPTY)
    assert merkle.verify_consistency(0, 0, empty, empty, [])
    assert merkle.verify_consistency(0, 5, empty, _root(5), [])
    assert not merkle.verify_consistency(0, 5, empty, _root(5), [empty])
    assert not merkle.verify_consistency(0, 5, _root(1), _root(5), [])
    assert merkle.verify_consistency(3, 3, _root(3), _root(3), [])
    assert not merkle.verify_consistency(3, 3, _root(3), _root(3), [_root(3)])
    assert not merkle.verify_consistency(3, 3, _root(3), _root(4), [])
    assert not merkle.verify_consistency(4, 3, _root(4), _root(3), [])


def test_inclusion_rejects_out_of_range_index() -> None:
    assert not merkle.verify_inclusion(0, 0, SOME_HASH, [], merkle.EMPTY_ROOT)
    assert not merkle.verify_inclusion(2, 1, SOME_HASH, [], SOME_HASH)
    with pytest.raises(ValueError, match="outside"):
        merkle.inclusion_ranges(3, 3)


def test_compact_range_serialises_and_checks_size() -> None:
    tree = merkle.CompactRange()
    created = [tree.append(h) for h in HASHES[:7]]
    assert [len(c) for c in created] == [1, 2, 1, 3, 1, 2, 1]
    again = merkle.CompactRange.from_bytes(7, tree.to_bytes())
    assert again.root() == tree.root()
    with pytest.raises(ValueError, match="frontier"):
        merkle.CompactRange.from_bytes(8, tree.to_bytes())


def _leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


@settings(max_examples=300, deadline=None)
@given(data=st.data(), n=st.integers(1, 300))
def test_inclusion_proofs_verify_for_random_sizes(data: st.DataObject, n: int) -> None:
    leaves = _leaves(n)
    index = data.draw(st.integers(0, n - 1))
    proof = merkle.proof_from_leaves(leaves, merkle.inclusion_ranges(index, n))
    root = merkle.root_of(leaves)
    assert merkle.verify_inclusion(index, n, leaves[index], proof, root)
    # Forgeries: one extra hash, one missing, one flipped bit, or a different index.
    assert not merkle.verify_inclusion(index, n, leaves[index], [*proof, SOME_HASH], root)
    assert not merkle.verify_inclusion(index, n, leaves[index], [SOME_HASH, *proof], root)
    if proof:
        k = data.draw(st.integers(0, len(proof) - 1))
        bit = data.draw(st.integers(0, 255))
        flipped = bytearray(proof[k])
        flipped[bit // 8] ^= 1 << (bit % 8)
        assert not merkle.verify_inclusion(
            index, n, leaves[index], [*proof[:k], bytes(flipped), *proof[k + 1 :]], root
        )
        assert not merkle.verify_inclusion(index, n, leaves[index], proof[:-1], root)
        assert not merkle.verify_inclusion(index, n, leaves[index], proof[1:], root)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), n=st.integers(1, 300))
def test_consistency_proofs_verify_for_random_sizes(data: st.DataObject, n: int) -> None:
    leaves = _leaves(n)
    m = data.draw(st.integers(1, n))
    proof = merkle.proof_from_leaves(leaves, merkle.consistency_ranges(m, n))
    old, new = merkle.root_of(leaves[:m]), merkle.root_of(leaves)
    assert merkle.verify_consistency(m, n, old, new, proof)
    assert not merkle.verify_consistency(m, n, old, new, [*proof, SOME_HASH])
    if proof:
        k = data.draw(st.integers(0, len(proof) - 1))
        bit = data.draw(st.integers(0, 255))
        flipped = bytearray(proof[k])
        flipped[bit // 8] ^= 1 << (bit % 8)
        assert not merkle.verify_consistency(
            m, n, old, new, [*proof[:k], bytes(flipped), *proof[k + 1 :]]
        )
        assert not merkle.verify_consistency(m, n, old, new, proof[:-1])
        assert not merkle.verify_consistency(m, n, old, new, [SOME_HASH, *proof])
    # A rewritten history (any old leaf changed) never proves consistent.
    j = data.draw(st.integers(0, m - 1))
    forged = [*leaves[:j], hashlib.sha256(b"forged").digest(), *leaves[j + 1 :]]
    assert not merkle.verify_consistency(m, n, merkle.root_of(forged[:m]), new, proof)

"""The sequencer: gives committed entries contiguous log indices and extends the tree.

Database sequence values have gaps (rolled-back transactions) and commit out of order, so
they cannot be log indices. Instead, one sequencer at a time (the locked tree-state row)
takes whatever entries are committed and unsequenced, numbers them from the current tree
size, hashes them into the compact range and stores the perfect subtrees they complete:
O(batch + log n) per batch, never a reread of the log. An entry that commits late, behind
one with a higher row id, simply lands in a later batch.
"""

from __future__ import annotations

from carecall.audit import tree_store
from carecall.audit.merkle import leaf_hash
from carecall.store.db import Database


def sequence_batch(db: Database, batch_size: int) -> int:
    """Sequence up to ``batch_size`` pending entries in one transaction; return how many."""
    with db.transaction() as session:
        tree = tree_store.lock_tree(session)
        rows = tree_store.pending_batch(session, batch_size)
        if not rows:
            return 0
        first = tree.size
        nodes: list[tuple[int, int, bytes]] = []
        for row in rows:
            nodes.extend(tree.append(leaf_hash(bytes(row.body))))
        tree_store.assign_indices(session, [int(r.id) for r in rows], first)
        tree_store.insert_nodes(session, nodes)
        tree_store.save_tree(session, tree)
        return len(rows)


def sequence_pending(db: Database, batch_size: int = 10_000) -> int:
    """Sequence every entry committed so far, in batches; return how many were sequenced."""
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    total = 0
    while True:
        done = sequence_batch(db, batch_size)
        total += done
        if done < batch_size:
            return total

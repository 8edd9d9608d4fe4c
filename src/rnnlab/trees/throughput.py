"""Throughput of level batching against the node-by-node loop, in trees (sequences) per second.

One training step's work, forward and backward, of a ``TreeClassifier`` on the same
batch of random ListOps-sized trees two ways:

    level batching   ``TreeClassifier.forward`` on ``batch_trees(trees)``: d + 1 cell calls
    node loop        ``TreeClassifier.reference_forward``: one cell call per node, by plain recursion
                     (``literal=False``: the cell's own fused products on one node at a time, the
                     fairest node-by-node loop; ``literal=True`` times the term-by-term reference)

Both end in the cross-entropy of the roots' logits against random classes and its
backward pass; building the batch (``batch_trees``) is timed apart, since a task
builds it once with its data.  Each figure is the best of ``repeats`` timings (the
least disturbed by other work on the machine) after one warm-up.  Figures depend on
the machine and on its load; the ratio is what issue 14 accepts (>= 10× at batch 64).
"""

from __future__ import annotations

import statistics
import time

import torch
from torch.nn import functional as F

from .batching import batch_trees
from .generate import random_trees


def measure_throughput(*, cell: str = "tree_lstm", batch_size: int = 64, hidden_size: int = 128,
                       embedding_size: int | None = None, vocab_size: int = 20, output_size: int = 10,
                       min_leaves: int = 25, max_leaves: int = 50, max_height: int = 10, repeats: int = 3,
                       literal: bool = False, seed: int = 0) -> dict:
    """Time forward + backward of one batch both ways -> a dict of figures:

    ``level_batching`` and ``node_loop`` (trees per second), ``speedup`` (their ratio),
    ``batching_seconds`` (building the TreeBatch), and the settings: ``cell``, ``batch_size``,
    ``hidden_size``, ``nodes_mean``, ``depth`` (the batch's highest tree), ``cell_calls``
    (level batching's: depth + 1; the node loop's: every node), ``node_loop_kind``
    ("fused" or "literal"), ``threads`` (torch's intra-op threads).

    Defaults: ListOps-sized binary trees, 25–50 leaves (49–99 nodes), height at most 10, H = 128.
    """
    from ..models.tree_classifier import TreeClassifier  # models sit above trees: imported when used

    if repeats < 1:
        raise ValueError(f"measure_throughput: repeats must be >= 1; got {repeats}")
    generator = torch.Generator().manual_seed(seed)
    max_children = 4 if cell == "child_sum_tree_lstm" else 2
    trees = random_trees(batch_size, generator, min_leaves=min_leaves, max_leaves=max_leaves,
                         vocab_size=vocab_size, max_children=max_children, max_height=max_height)
    targets = torch.randint(output_size, (batch_size,), generator=generator)
    torch.manual_seed(seed)
    model = TreeClassifier(vocab_size, hidden_size, output_size, cell=cell, embedding_size=embedding_size)

    start = time.perf_counter()
    batch = batch_trees(trees)
    batching_seconds = time.perf_counter() - start

    def level_step() -> None:
        logits, _ = model(None, structure=batch)
        F.cross_entropy(logits, targets).backward()

    def node_step() -> None:
        logits, _ = model.reference_forward(trees, literal=literal)
        F.cross_entropy(logits, targets).backward()

    level_seconds = _best_time(level_step, repeats)
    node_seconds = _best_time(node_step, repeats)
    model.zero_grad(set_to_none=True)
    return {
        "cell": cell,
        "batch_size": batch_size,
        "hidden_size": hidden_size,
        "nodes_mean": statistics.mean(tree.size() for tree in trees),
        "depth": batch.depth,
        "cell_calls": {"level_batching": batch.depth + 1, "node_loop": batch.num_nodes},
        "node_loop_kind": "literal" if literal else "fused",
        "threads": torch.get_num_threads(),
        "level_batching": batch_size / level_seconds,
        "node_loop": batch_size / node_seconds,
        "speedup": node_seconds / level_seconds,
        "batching_seconds": batching_seconds,
    }


def _best_time(step, repeats: int) -> float:
    """The shortest of ``repeats`` timings of ``step()``, after one untimed warm-up call."""
    step()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - start)
    return best

"""Throughput of level batching against the node-by-node loop, in trees (sequences) per second.

One training step's work, forward and backward, of a tree classifier (token
embedding, tree cell, linear readout of the roots: what ``models.TreeClassifier``
computes, built here from this package alone) on the same batch of random
ListOps-sized trees two ways:

    level batching   ``evaluate_levels`` on ``batch_trees(trees)``: d + 1 cell calls
    node loop        ``reference.evaluate_nodes``: one cell call per node, by plain recursion
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
from torch import nn
from torch.nn import functional as F

from .batching import batch_trees, evaluate_levels
from .cells import create
from .generate import random_trees
from .reference import evaluate_nodes


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
    if repeats < 1:
        raise ValueError(f"measure_throughput: repeats must be >= 1; got {repeats}")
    generator = torch.Generator().manual_seed(seed)
    max_children = 4 if cell == "child_sum_tree_lstm" else 2
    trees = random_trees(batch_size, generator, min_leaves=min_leaves, max_leaves=max_leaves,
                         vocab_size=vocab_size, max_children=max_children, max_height=max_height)
    targets = torch.randint(output_size, (batch_size,), generator=generator)
    torch.manual_seed(seed)
    width = hidden_size if embedding_size is None else embedding_size
    embedding = nn.Embedding(vocab_size, width)
    tree_cell = create(cell, width, hidden_size)
    readout = nn.Linear(hidden_size, output_size)

    start = time.perf_counter()
    batch = batch_trees(trees)
    batching_seconds = time.perf_counter() - start

    def level_step() -> None:
        state = evaluate_levels(tree_cell, embedding(batch.leaf_tokens()), batch)
        logits = readout(tree_cell.hidden(state)[batch.roots])  # (B, O)
        F.cross_entropy(logits, targets).backward()

    def node_step() -> None:
        rows = embedding.weight.unbind(0)  # a view a token; one backward node for them all, not one a leaf
        states = evaluate_nodes(tree_cell, trees, lambda t: rows[t].unsqueeze(0), literal=literal)  # (1, E) a leaf
        logits = readout(torch.cat([tree_cell.hidden(s)[-1:] for s in states]))  # (B, O): the roots, last
        F.cross_entropy(logits, targets).backward()

    level_seconds = _best_time(level_step, repeats)
    node_seconds = _best_time(node_step, repeats)
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

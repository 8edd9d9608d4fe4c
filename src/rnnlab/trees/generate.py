"""Random trees of a given size, height and arity: the test and timing material of the tree cells.

``random_tree`` draws the number of leaves, then splits it recursively among the
children of each node, keeping every subtree low enough for the height bound: a node
at remaining height h gets at most m^(h−1) leaves per child (m = ``max_children``).
With m = 2 and 25–50 leaves under height 10 this gives ListOps-sized binary trees
(49–99 nodes, heights about 7–10, as the left-branching parses of Nangia & Bowman's
ListOps).  Everything is drawn from a seeded ``torch.Generator``.
"""

from __future__ import annotations

import torch

from .tree import Tree


def _uniform(generator: torch.Generator, low: int, high: int) -> int:
    """An int uniform in [low, high]."""
    return int(torch.randint(low, high + 1, (1,), generator=generator))


def random_tree(generator: torch.Generator, *, leaves: int, vocab_size: int, max_children: int = 2,
                max_height: int | None = None) -> Tree:
    """A random tree with ``leaves`` leaves whose tokens are ids in [1, vocab_size).

    Inner nodes have 2..max_children children (exactly 2 when max_children is 2: a full
    binary tree of 2·leaves − 1 nodes); the height is at most ``max_height`` (None: no bound).
    """
    if max_children < 2:
        raise ValueError(f"random_tree: max_children must be >= 2; got {max_children}")
    if vocab_size < 2:
        raise ValueError(f"random_tree: vocab_size must be >= 2 (id 0 is padding); got {vocab_size}")
    if leaves < 1:
        raise ValueError(f"random_tree: a tree needs at least one leaf; got leaves={leaves}")
    if max_height is not None and leaves > max_children ** max_height:
        raise ValueError(f"random_tree: {leaves} leaves do not fit under height {max_height} with at most "
                         f"{max_children} children a node (at most {max_children ** max_height})")

    def capacity(height: int | None) -> int | None:  # most leaves a subtree of this height can hold
        return None if height is None else max_children ** height

    def build(n: int, height: int | None) -> Tree:
        if n == 1:
            return Tree(_uniform(generator, 1, vocab_size - 1))
        below = None if height is None else height - 1
        cap = capacity(below) or n
        fewest = -(-n // cap)  # children needed to hold n leaves
        arity = _uniform(generator, max(2, fewest), min(max_children, n))
        parts, rest = [], n
        for slot in range(arity, 0, -1):  # each part >= 1 and <= cap, the rest still placeable in slot - 1 parts
            low, high = max(1, rest - (slot - 1) * cap), min(cap, rest - (slot - 1))
            part = _uniform(generator, low, high)
            parts.append(part)
            rest -= part
        return Tree(None, tuple(build(part, below) for part in parts))

    return build(leaves, max_height)


def random_trees(count: int, generator: torch.Generator, *, min_leaves: int, max_leaves: int, vocab_size: int,
                 max_children: int = 2, max_height: int | None = None) -> list[Tree]:
    """``count`` random trees, each with a number of leaves uniform in [min_leaves, max_leaves] (max_leaves
    lowered to the most that fit under ``max_height``)."""
    if max_height is not None:
        max_leaves = min(max_leaves, max_children ** max_height)
    if not 1 <= min_leaves <= max_leaves:
        raise ValueError(f"random_trees: no number of leaves in [{min_leaves}, {max_leaves}] fits (at least 1, "
                         f"and at most {max_children}^max_height under a height bound)")
    return [random_tree(generator, leaves=_uniform(generator, min_leaves, max_leaves), vocab_size=vocab_size,
                        max_children=max_children, max_height=max_height) for _ in range(count)]

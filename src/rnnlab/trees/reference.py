"""Node-by-node evaluation of tree cells: the plain recursion that level batching is checked against.

``evaluate_nodes`` walks each tree recursively, children (left to right) before
their parent, and calls the cell on one node at a time: N cell calls for N nodes,
one Python step each, as a recursive net is written in the papers.  Two ways of
calling the cell on a node:

    literal=True   ``cell.node``: the paper's equations term by term (per-child weights
                   applied child by child, sums as Python sums), written independently of
                   the batched entries: the reference the tests compare level batching with.
    literal=False  the cell's batched entries ``leaf`` / ``combine`` on one node: the same
                   fused products as level batching, one node at a time; the fair
                   node-by-node loop that ``throughput.py`` times level batching against.

Plain recursion: trees deeper than about 900 levels meet Python's recursion limit
(level batching has no such limit).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from ..cells.base import State, map_state
from .batching import Level
from .tree import Tree


def evaluate_nodes(cell, trees: Sequence[Tree], embed: Callable[[int], Tensor], *,
                   literal: bool = True) -> list[State]:
    """Every node's state, one node at a time.

    cell: a tree cell (``trees.base.TreeCell``).
    trees: trees whose leaf tokens ``embed`` accepts.
    embed: a leaf token -> its vector x, (1, I) (e.g. ``lambda t: embedding.weight[t:t + 1]``).
    Returns per tree the states of its nodes in postorder, (n_b, H) per field: the root's is the last row.
    """
    def visit(node: Tree, states: list[State]) -> State:
        """The state of ``node``, after its subtree's (appended to ``states`` in postorder)."""
        kids = [visit(child, states) for child in node.children]
        if literal:
            state = cell.node(None if kids else embed(node.token), kids)
        elif not kids:
            state = cell.leaf(embed(node.token))
        else:
            cell.check_arities([len(kids)])
            stacked = map_state(lambda *fields: torch.cat(fields), *kids)  # (k, H) per field
            state = cell.combine(stacked, _one_node(len(kids), stacked))
        states.append(state)
        return state

    results = []
    for tree in trees:
        states: list[State] = []
        visit(tree, states)
        results.append(map_state(lambda *fields: torch.cat(fields), *states))  # (n_b, H) per field
    return results


def _one_node(arity: int, children: State) -> Level:
    """A level of a single node whose children are the ``arity`` rows of ``children``."""
    h = children if isinstance(children, Tensor) else children[0]
    index = torch.arange(arity, device=h.device)
    return Level(height=0, begin=0, end=1, children=index, parents=torch.zeros_like(index))

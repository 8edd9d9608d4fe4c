"""Level batching: B trees evaluated in O(depth) cell calls instead of one Python step per node.

A recursive net applies the same cell at every node, children before parents.  A
node's *level* is its height (a leaf 0, an inner node 1 + its highest child), so
every child of a level-k node lies on a lower level, and all the nodes of one level,
across every tree of the batch, can be computed by one call of the cell once the
lower levels are done:

    level 0      every leaf of the B trees                 S_0 = leaf(E[tokens])          one call
    level k ≥ 1  every inner node of height k               S_k = combine(S[children_k])   one call each

so a batch of trees of depth d costs d + 1 cell calls (plus one gather of the
children's states per level), whatever B and the shapes of the trees.

What ``batch_trees`` stores (``TreeBatch``; N nodes, E child links, D = the depth):
nodes are numbered level by level, leaves first, and within a level by tree, then
by the node's position in its tree's postorder, so that level k is the slice
``level_offsets[k] : level_offsets[k+1]`` of every per-node tensor:

    tokens    (N,)  leaf token id, 0 at inner nodes (0 is padding, never a real token)
    labels    (N,)  per-node class label, -1 where the tree has none
    arity     (N,)  children of each node, 0 at leaves
    tree_of   (N,)  which tree (0..B-1) a node belongs to
    postorder (N,)  the node's index in its own tree's postorder (children left to right, then the parent)
    roots     (B,)  the index of each tree's root
    children  (E,)  the index of every child, level by level, parents in level order, children left to right
    parents   (E,)  the parent of each child link, counted within the parent's level (0..n_k-1)
    level_offsets, edge_offsets   Python ints: where each level starts among the nodes and among the links

Because a parent's children are consecutive in ``children``, a binary cell reads
the children's states of level k as one (n_k, 2, H) view; an n-ary cell sums them
into their parents with one ``index_add`` by ``parents``.

Cost: building is one Python pass over the nodes (a few µs a node: about 10 ms for
64 ListOps-sized trees of 77 nodes on average); evaluation (``evaluate_levels``) is
d + 1 cell calls, each a few matrix products over all the nodes of its level, and
per level one ``torch.cat`` of the lower levels' states and one ``index_select`` of
the children (O(N·H) each, so O(d·N·H) copying in all, small beside the products:
writing the levels into one preallocated (N, H) buffer instead measured no faster).
The backward pass is autograd's through the same d + 1 calls.  At H = 128 both
directions are dominated by the products, so a level-batched step costs about what
its arithmetic does.  The node-by-node reference (``reference.evaluate_nodes``) does
N cell calls of one node each; ``throughput.measure_throughput`` times the two
(Tree-LSTM, batch 64, one thread: 15 to 20 times the trees per second by level).

How it is checked (tests/trees/test_batching.py and the cells' tests): values and
gradients of every node equal to the node-by-node reference within 1e-6 in float64
on random trees of mixed shapes and depths; a tree's outputs do not depend on the
other trees of its batch or their order; ``narrow`` equals batching the slice.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple

import torch
from torch import Tensor

from ..cells.base import State, map_state
from .tree import Tree


class Level(NamedTuple):
    """The inner nodes of one height k >= 1, as a cell's ``combine`` reads them."""

    height: int  # k
    begin: int  # the level's nodes are begin:end of the batch's nodes
    end: int
    children: Tensor  # (E_k,) node index of every child, grouped by parent, left to right
    parents: Tensor  # (E_k,) each child's parent, counted within the level (0..n_k-1)

    @property
    def count(self) -> int:
        """n_k, the nodes of the level."""
        return self.end - self.begin


@dataclass(frozen=True, eq=False)
class TreeBatch:
    """B trees scheduled by level (height); built only by ``batch_trees`` (module docstring: the layout)."""

    size: int  # B
    tokens: Tensor  # (N,) int64
    labels: Tensor  # (N,) int64, -1 where None
    arity: Tensor  # (N,) int64
    tree_of: Tensor  # (N,) int64
    postorder: Tensor  # (N,) int64
    roots: Tensor  # (B,) int64
    children: Tensor  # (E,) int64
    parents: Tensor  # (E,) int64
    level_offsets: tuple[int, ...]  # (D + 2,): level k is nodes level_offsets[k]:level_offsets[k+1]
    edge_offsets: tuple[int, ...]  # (D + 2,): level k's child links are edge_offsets[k]:edge_offsets[k+1]
    arities: tuple[int, ...]  # the distinct arities of the inner nodes, ascending (() when all are leaves)

    @property
    def num_nodes(self) -> int:
        """N, nodes of every tree."""
        return self.level_offsets[-1]

    @property
    def num_leaves(self) -> int:
        """Leaves of every tree: the nodes of level 0, which come first."""
        return self.level_offsets[1]

    @property
    def depth(self) -> int:
        """D, the height of the highest tree: the batch costs D + 1 cell calls."""
        return len(self.level_offsets) - 2

    @property
    def device(self) -> torch.device:
        return self.tokens.device

    def leaf_tokens(self) -> Tensor:
        """(N_0,) the leaves' token ids, in node order."""
        return self.tokens[: self.num_leaves]

    def levels(self) -> Iterator[Level]:
        """The inner levels k = 1..D, lowest first (the order of evaluation)."""
        for k in range(1, self.depth + 1):
            e0, e1 = self.edge_offsets[k], self.edge_offsets[k + 1]
            yield Level(k, self.level_offsets[k], self.level_offsets[k + 1], self.children[e0:e1],
                        self.parents[e0:e1])

    def tree_nodes(self, index: int) -> Tensor:
        """The node indices of tree ``index``, in its postorder (its root last)."""
        if not 0 <= index < self.size:
            raise IndexError(f"TreeBatch: tree {index} is out of range for a batch of {self.size} trees")
        nodes = (self.tree_of == index).nonzero().squeeze(1)
        return nodes[self.postorder[nodes].argsort()]

    def narrow(self, begin: int, end: int) -> TreeBatch:
        """Trees ``begin:end`` as a batch of their own (``Batch.narrow``'s share of a batch), equal to
        ``batch_trees(trees[begin:end])``: the kept nodes keep their order, which is still level by level."""
        if not (isinstance(begin, int) and isinstance(end, int) and 0 <= begin < end <= self.size):
            raise ValueError(f"TreeBatch.narrow: trees {begin}:{end} are not a non-empty slice of a batch of "
                             f"{self.size} trees")
        if (begin, end) == (0, self.size):
            return self
        keep = (self.tree_of >= begin) & (self.tree_of < end)  # (N,)
        renumber = keep.cumsum(0) - 1  # new index of each kept node
        level_sizes = torch.tensor([b - a for a, b in zip(self.level_offsets, self.level_offsets[1:])],
                                   device=self.device)
        node_level = torch.repeat_interleave(torch.arange(self.depth + 1, device=self.device), level_sizes)
        kept_per_level = torch.bincount(node_level[keep], minlength=self.depth + 1).tolist()
        while kept_per_level[-1] == 0:  # the highest levels may hold only other trees' nodes
            kept_per_level.pop()
        level_offsets = _offsets(kept_per_level)
        edge_keep = keep[self.children]  # a link is kept with its child (both are in the same tree)
        edge_level = torch.repeat_interleave(
            torch.arange(self.depth + 1, device=self.device),
            torch.tensor([b - a for a, b in zip(self.edge_offsets, self.edge_offsets[1:])], device=self.device))
        kept_edges = torch.bincount(edge_level[edge_keep], minlength=self.depth + 1).tolist()
        edge_offsets = _offsets(kept_edges[: len(kept_per_level)])
        old_parent = self.parents[edge_keep] + torch.tensor(self.level_offsets[:-1], device=self.device)[
            edge_level[edge_keep]]  # the parents' old node indices
        new_level_start = torch.tensor(level_offsets[:-1], device=self.device)
        parents = renumber[old_parent] - new_level_start[edge_level[edge_keep]]
        nodes = keep.nonzero().squeeze(1)
        arity = self.arity[nodes]
        return TreeBatch(size=end - begin, tokens=self.tokens[nodes], labels=self.labels[nodes], arity=arity,
                         tree_of=self.tree_of[nodes] - begin, postorder=self.postorder[nodes],
                         roots=renumber[self.roots[begin:end]], children=renumber[self.children[edge_keep]],
                         parents=parents, level_offsets=level_offsets, edge_offsets=edge_offsets,
                         arities=tuple(torch.unique(arity[arity > 0]).tolist()))

    def to(self, device) -> TreeBatch:
        """The same batch with its tensors on ``device``."""
        move = {name: getattr(self, name).to(device) for name in _TENSORS}
        return replace(self, **move)

    def __repr__(self) -> str:
        return (f"TreeBatch(size={self.size}, nodes={self.num_nodes}, leaves={self.num_leaves}, depth={self.depth}, "
                f"arities={self.arities})")


_TENSORS = ("tokens", "labels", "arity", "tree_of", "postorder", "roots", "children", "parents")


def _offsets(counts: Sequence[int]) -> tuple[int, ...]:
    offsets = [0]
    for n in counts:
        offsets.append(offsets[-1] + n)
    return tuple(offsets)


def batch_trees(trees: Sequence[Tree]) -> TreeBatch:
    """B trees -> a ``TreeBatch`` that schedules their nodes level by level (module docstring).

    Leaf tokens must be int ids >= 1 (``Tree.map_tokens`` maps a parser's str tokens; id
    0 is padding and never a real token); per-node labels are kept (-1 where None).
    Trees of any arity are accepted here; binary cells refuse other arities when they run.
    """
    if isinstance(trees, (Tree, str)) or not isinstance(trees, Sequence):
        raise TypeError(f"batch_trees expects a sequence of Trees; got {type(trees).__name__}")
    if len(trees) == 0:
        raise ValueError("batch_trees: no trees (a batch needs at least one)")
    # Per level, the nodes as (tree, postorder index, token, label, arity, children's postorder indices).
    levels: list[list[tuple]] = []
    index_of: list[list[tuple[int, int]]] = []  # per tree, per postorder index: (level, position in level)
    for b, tree in enumerate(trees):
        if not isinstance(tree, Tree):
            raise TypeError(f"batch_trees: item {b} is a {type(tree).__name__}, not a Tree")
        nodes = _flatten(tree, b)
        placed = []
        for j, (token, label, height, kids) in enumerate(nodes):
            while len(levels) <= height:
                levels.append([])
            placed.append((height, len(levels[height])))
            levels[height].append((b, j, token, label, len(kids), kids))
        index_of.append(placed)
    level_offsets = _offsets([len(level) for level in levels])
    # Global node index of (tree, postorder index).
    number = [[level_offsets[h] + i for h, i in placed] for placed in index_of]
    tokens, labels, arity, tree_of, postorder, children, parents, edge_counts = [], [], [], [], [], [], [], [0]
    for level in levels:
        edges = 0
        for i, (b, j, token, label, n_kids, kids) in enumerate(level):
            tokens.append(token)
            labels.append(label)
            arity.append(n_kids)
            tree_of.append(b)
            postorder.append(j)
            children.extend(number[b][k] for k in kids)
            parents.extend([i] * n_kids)
            edges += n_kids
        if level is not levels[0]:
            edge_counts.append(edges)
    long = dict(dtype=torch.int64)
    arities = sorted({n for n in arity if n > 0})
    return TreeBatch(size=len(trees), tokens=torch.tensor(tokens, **long), labels=torch.tensor(labels, **long),
                     arity=torch.tensor(arity, **long), tree_of=torch.tensor(tree_of, **long),
                     postorder=torch.tensor(postorder, **long),
                     roots=torch.tensor([row[-1] for row in number], **long),
                     children=torch.tensor(children, **long), parents=torch.tensor(parents, **long),
                     level_offsets=level_offsets, edge_offsets=_offsets(edge_counts), arities=tuple(arities))


def _flatten(tree: Tree, b: int) -> list[tuple[int, int, int, list[int]]]:
    """The nodes of one tree in postorder: (token id or 0, label or -1, height, children's postorder indices).
    Iterative (deep trees do not meet the recursion limit) and by position, so a subtree object that occurs
    twice is two nodes."""
    out: list[tuple[int, int, int, list[int]]] = []
    pending: list[int] = []  # postorder indices of nodes whose parent has not been emitted yet
    stack: list[tuple[Tree, bool]] = [(tree, False)]
    while stack:
        node, expanded = stack.pop()
        if node.children and not expanded:
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(node.children))
            continue
        label = -1 if node.label is None else node.label
        if node.label is not None and node.label < 0:
            raise ValueError(f"batch_trees: tree {b} has the node label {node.label}; labels are classes >= 0")
        if node.children:
            n = len(node.children)
            kids = pending[-n:]
            del pending[-n:]
            out.append((0, label, 1 + max(out[k][2] for k in kids), kids))
        else:
            token = node.token
            if isinstance(token, bool) or not isinstance(token, int):
                raise TypeError(f"batch_trees: tree {b} has the leaf token {token!r} ({type(token).__name__}); "
                                "leaf tokens must be int ids (map them with Tree.map_tokens)")
            if token < 1:
                raise ValueError(f"batch_trees: tree {b} has the leaf token id {token}; ids start at 1 "
                                 "(0 is padding, never a real token)")
            out.append((token, label, 0, []))
        pending.append(len(out) - 1)
    return out


def evaluate_levels(cell, leaf_inputs: Tensor, batch: TreeBatch) -> State:
    """Every node's state, level by level: d + 1 calls of the cell for a batch of depth d.

    cell: a tree cell (``trees.base.TreeCell``).
    leaf_inputs: (N_0, I) the leaves' input vectors, in node order: the embedding of
        ``batch.leaf_tokens()``, or any vectors the leaves carry (e.g. pretrained word
        vectors, or image regions as in Socher et al. 2011).
    Returns the state of every node, (N, H) per field, in node order: ``state[batch.roots]``
    is the roots', ``state[batch.tree_nodes(b)]`` tree b's in postorder.
    """
    cell.check_batch(batch)
    if not isinstance(leaf_inputs, Tensor) or tuple(leaf_inputs.shape) != (batch.num_leaves, cell.input_size):
        shape = tuple(leaf_inputs.shape) if isinstance(leaf_inputs, Tensor) else type(leaf_inputs).__name__
        raise ValueError(f"{type(cell).__name__} expects leaf inputs of shape ({batch.num_leaves}, {cell.input_size}) "
                         f"(the batch's leaves, the cell's input size); got {shape}")
    done = [cell.leaf(leaf_inputs)]  # per level, the state of its nodes: (n_k, H) per field
    for level in batch.levels():
        below = done[0] if len(done) == 1 else map_state(lambda *fields: torch.cat(fields), *done)  # (begin, H)
        kids = map_state(lambda field, index=level.children: field.index_select(0, index), below)  # (E_k, H)
        done.append(cell.combine(kids, level))
    return done[0] if len(done) == 1 else map_state(lambda *fields: torch.cat(fields), *done)  # (N, H)

"""Tree→1: a recursive net reads a parse tree bottom-up, one readout maps its root to classes.

The topology of Socher et al. (2011) and Tai, Socher & Manning (2015) for
sentence classification, and of the tree models of ListOps (Nangia & Bowman 2018):

    x_j   = E[token_j]                      each leaf's token embedded (E: V × E_dim)
    s_j   = cell(x_j)                       at the leaves; s_p = cell(s_children) at inner nodes
    y     = W_out h_root + b_out            logits of the tree's class

with any tree cell (``rnnlab.trees.available()``: ``tree_rnn``, ``tree_lstm``,
``child_sum_tree_lstm``), evaluated level by level over the whole batch
(``rnnlab.trees.batching``: a batch of depth d costs d + 1 cell calls).

Per-node labels: every node's state is computed anyway, so ``node_outputs`` reads
out every node with the same readout for one more product, (N, H) × (H, O): the
supervision of the Stanford Sentiment Treebank (a label at every phrase, Tai et al.
§5.1) or of ListOps' subexpression values, scored against ``TreeBatch.labels``
(-1 where a node has none, e.g. ``cross_entropy(..., ignore_index=-1)``).  With
``node_labels`` = λ > 0 the model trains on them too: ``forward`` returns, beside the
roots' logits, a ``TreeState`` whose ``auxiliary_loss`` is λ times the mean cross-entropy
of every labelled inner node but the roots (whose label is the task's target), which the
trainer adds to the task's loss (``rnnlab train listops --model tree_lstm --set
'model.options={node_labels=1.0}'``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..cells.base import check_size
from ..trees import cells as tree_cells
from ..trees.batching import TreeBatch, evaluate_levels
from ..trees.reference import evaluate_nodes
from ..trees.tree import Tree


class TreeState(NamedTuple):
    """What ``TreeClassifier.forward`` returns beside the logits."""

    h: Tensor  # (B, H) the roots' hidden states
    auxiliary_loss: Tensor | None = None  # with node_labels > 0: λ × the inner nodes' mean cross-entropy


class TreeClassifier(nn.Module):
    """A batch of trees (``structure``, a ``TreeBatch``) -> (logits at the roots (B, O), ``TreeState``).

    Args:
        vocab_size: V, token ids lie in [1, V) (0 is padding, never a real token).
        hidden_size: H, the cell's state size.
        output_size: O, classes.
        cell: "tree_rnn", "tree_lstm" (binary N-ary Tree-LSTM) or "child_sum_tree_lstm".
        embedding_size: E, width of the token embedding; hidden_size when None (tree_rnn needs E = H:
            its leaves' states are their tokens' vectors).
        node_labels: λ >= 0, the weight of the inner nodes' labels in training (0: the roots' alone).
        **cell_options: passed to the cell (``bias=False``).

    ``forward(inputs, lengths=None, state=None, *, structure)``: ``inputs`` (the flat token
    sequence, (T, B) int64, or None) and ``lengths`` are not read: the tokens come from
    ``structure``, whose B must match the inputs' when both are given.  ``state`` must be
    None (a tree model carries nothing from batch to batch).
    """

    reads_structure = True

    def __init__(self, vocab_size: int, hidden_size: int, output_size: int, *, cell: str = "tree_lstm",
                 embedding_size: int | None = None, node_labels: float = 0.0, **cell_options) -> None:
        super().__init__()
        if isinstance(node_labels, bool) or not isinstance(node_labels, (int, float)) or not node_labels >= 0:
            raise ValueError(f"TreeClassifier: node_labels must be a number >= 0 (the weight of the inner nodes' "
                             f"labels); got {node_labels!r}")
        self.node_labels = float(node_labels)
        check_size("vocab_size", vocab_size)
        check_size("hidden_size", hidden_size)
        check_size("output_size", output_size)
        if vocab_size < 2:
            raise ValueError(f"TreeClassifier: vocab_size must be >= 2 (id 0 is padding, never a real token); "
                             f"got {vocab_size}")
        if cell not in tree_cells.available():
            raise ValueError(f"TreeClassifier: unknown cell {cell!r}; tree cells: {', '.join(tree_cells.available())}")
        size = hidden_size if embedding_size is None else check_size("embedding_size", embedding_size)
        self.vocab_size = vocab_size
        self.embedding = nn.Embedding(vocab_size, size)
        self.cell = tree_cells.create(cell, size, hidden_size, **cell_options)
        self.readout = nn.Linear(hidden_size, output_size)

    def forward(self, inputs=None, lengths=None, state=None, *, structure: TreeBatch) -> tuple[Tensor, TreeState]:
        self._check(inputs, state, structure)
        nodes = self.cell.hidden(self.encode(structure))  # (N, H)
        h = nodes[structure.roots]  # (B, H)
        if not self.node_labels:
            return self.readout(h), TreeState(h)
        inner = structure.labels.clone()  # (N,)
        inner[structure.arity == 0] = -1  # leaves: their label is their token
        inner[structure.roots] = -1  # roots: the task's target, scored by the task's loss
        if not bool((inner >= 0).any()):
            return self.readout(h), TreeState(h, nodes.sum() * 0.0)
        loss = F.cross_entropy(self.readout(nodes), inner, ignore_index=-1)
        return self.readout(h), TreeState(h, self.node_labels * loss)

    def encode(self, structure: TreeBatch):
        """Every node's state, level by level, (N, H) per field in the batch's node order."""
        leaves = self.embedding(structure.leaf_tokens())  # (N_0, E)
        return evaluate_levels(self.cell, leaves, structure)

    def node_outputs(self, structure: TreeBatch) -> tuple[Tensor, Tensor]:
        """Every node read out -> (logits (N, O), h (N, H)) in the batch's node order; targets
        ``structure.labels`` (N,), -1 where a node has no label."""
        self._check(None, None, structure)
        h = self.cell.hidden(self.encode(structure))  # (N, H)
        return self.readout(h), h

    def reference_forward(self, trees: Sequence[Tree], *, literal: bool = True) -> tuple[Tensor, TreeState]:
        """``forward`` computed node by node by plain recursion (``rnnlab.trees.reference``); trees with int
        token ids.  ``literal`` as in ``evaluate_nodes``: the paper's equations term by term, or the cell's
        batched entries on one node at a time."""
        rows = self.embedding.weight.unbind(0)  # a view a token; one backward node for them all, not one a leaf

        def embed(token: int) -> Tensor:  # (1, E)
            if isinstance(token, bool) or not isinstance(token, int) or not 1 <= token < self.vocab_size:
                raise ValueError(f"TreeClassifier: token ids must lie in [1, {self.vocab_size}); got {token!r}")
            return rows[token].unsqueeze(0)

        states = evaluate_nodes(self.cell, trees, embed, literal=literal)
        h = torch.cat([self.cell.hidden(s)[-1:] for s in states])  # (B, H): each tree's root is its last node
        return self.readout(h), TreeState(h)

    def _check(self, inputs, state, structure) -> None:
        if not isinstance(structure, TreeBatch):
            raise TypeError(f"TreeClassifier expects structure= a TreeBatch (rnnlab.trees.batch_trees); "
                            f"got {type(structure).__name__}")
        if state is not None:
            raise ValueError("TreeClassifier carries no state from batch to batch; got a state (pass state=None)")
        if isinstance(inputs, Tensor) and inputs.dim() == 2 and inputs.shape[1] != structure.size:
            raise ValueError(f"TreeClassifier: the inputs hold {inputs.shape[1]} sequences (T, B) but the structure "
                             f"{structure.size} trees; they must be the same examples")
        self.cell.check_batch(structure)
        high = int(structure.tokens.max())  # inner nodes hold 0, leaves ids >= 1 (batch_trees checks)
        if high >= self.vocab_size:
            raise ValueError(f"TreeClassifier: token ids must lie in [1, {self.vocab_size}) (the vocabulary size); "
                             f"got a leaf with id {high}")

    def extra_repr(self) -> str:
        return f"cell={self.cell.name!r}" + (f", node_labels={self.node_labels}" if self.node_labels else "")

"""What every tree cell shares: the two batched entries, the one-node reference entry, arity checks.

A tree cell computes the state of nodes from their children's states, the way a
sequence cell (``rnnlab.cells``) computes a step from the previous one; it never
walks a tree (``batching.evaluate_levels`` does, level by level, and
``reference.evaluate_nodes`` node by node).  Three entries:

    leaf(x)                    x (n, I) -> the state of n leaves, (n, H) per field
    combine(children, level)   the children's states of a level's n_k nodes, (E_k, H) per field,
                               grouped by parent, left to right -> the n_k nodes' states
    node(x, children)          one node, written out as the paper's equations: a leaf when
                               ``children`` is empty (x (1, I)), else an inner node (x None)

``leaf`` and ``combine`` are the fast path; ``node`` is the reference they are tested
against (values and gradients equal within 1e-6 in float64), written independently
of them: per-child weights applied child by child, sums as Python sums.

Leaves and inner nodes (Tai et al. 2015, §3; Socher et al. 2011): a leaf is a node
without children whose input x_j is its token's vector; an inner node of a
constituency tree carries no token, so its input term W x_j is absent.  Each cell's
docstring says what that makes of its equations.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar, NamedTuple

from torch import Tensor, nn

from ..cells.base import State, check_size


class TreeLSTMState(NamedTuple):
    """The state of Tree-LSTM nodes."""

    h: Tensor  # (n, H) hidden state h_j
    c: Tensor  # (n, H) memory cell c_j


class TreeCell(nn.Module):
    """Base of the tree cells.  Subclasses set ``name``, ``binary`` and ``state_type`` (None when the state is
    a single tensor h) and implement ``leaf``, ``combine`` and ``node``."""

    name: ClassVar[str]
    binary: ClassVar[bool] = False  # True: every inner node must have exactly two children
    state_type: ClassVar[type | None] = None

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.input_size = check_size("input_size", input_size)
        self.hidden_size = check_size("hidden_size", hidden_size)

    def reset_parameters(self) -> None:
        """U(−1/√H, 1/√H) for every parameter, as torch.nn's recurrent layers."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def leaf(self, x: Tensor) -> State:
        raise NotImplementedError

    def combine(self, children: State, level) -> State:
        raise NotImplementedError

    def node(self, x: Tensor | None, children: Sequence[State]) -> State:
        raise NotImplementedError

    @staticmethod
    def hidden(state: State) -> Tensor:
        """h of a state, (n, H): the state itself for a single-tensor state, ``state.h`` otherwise."""
        return state if isinstance(state, Tensor) else state.h

    def check_arities(self, arities: Sequence[int]) -> None:
        """ValueError when a binary cell meets an inner node that has not exactly two children."""
        if self.binary:
            other = [n for n in arities if n != 2]
            if other:
                raise ValueError(f"{self.name} combines exactly 2 children (a binary tree); got an inner node with "
                                 f"{other[0]} {'child' if other[0] == 1 else 'children'} (binarise the trees, or "
                                 "use child_sum_tree_lstm for any number of children)")

    def check_batch(self, batch) -> None:
        """The checks a batch of trees must pass before any work: arities."""
        self.check_arities(batch.arities)

    def check_node(self, x: Tensor | None, children: Sequence[State]) -> None:
        """The reference entry's checks: a leaf has x (1, I) and no children, an inner node children and no x."""
        if children:
            self.check_arities([len(children)])
            if x is not None:
                raise ValueError(f"{self.name}: an inner node has no input x (only leaves carry a token); got x")
        elif not isinstance(x, Tensor) or tuple(x.shape) != (1, self.input_size):
            shape = tuple(x.shape) if isinstance(x, Tensor) else x
            raise ValueError(f"{self.name}: a leaf needs x of shape (1, {self.input_size}); got {shape}")

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"

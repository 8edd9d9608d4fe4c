"""Tree-RNN: the recursive neural network of Socher et al. (2011), on binary trees.

Socher, Pennington, Huang, Ng & Manning (2011), "Semi-supervised recursive
autoencoders for predicting sentiment distributions", EMNLP, §2.1–2.2 (the
composition of Socher, Lin, Ng & Manning 2011, "Parsing natural scenes and natural
language with recursive neural networks", ICML):

    leaf j:        h_j = x_j                                   the token's vector (its embedding)
    inner node p:  h_p = tanh(W [h_left; h_right] + b)         W (H, 2H), b (H,)

The same W and b at every inner node, children before parents.  A leaf's state is
its token's vector itself, as in the paper, where the word vectors are the leaves'
representations and are learnt with the rest; so the input size must equal the
hidden size.  Only binary trees: an inner node with another number of children is
refused (use the Child-Sum Tree-LSTM for any arity).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .base import TreeCell


class TreeRNNCell(TreeCell):
    """h_p = tanh(W [h_left; h_right] + b) at inner nodes, h_j = x_j at leaves; state a Tensor h (n, H).

    Args:
        input_size: I, the leaves' vector size; must equal ``hidden_size`` (a leaf's state is its vector).
        hidden_size: H.
        bias: learn b (True) or leave it out.

    Parameters: ``weight`` (H, 2H), W = [W_left, W_right] (columns 0:H read the left child);
    ``bias`` (H,) b.  Both U(−1/√H, 1/√H).
    """

    name = "tree_rnn"
    binary = True

    def __init__(self, input_size: int, hidden_size: int, *, bias: bool = True) -> None:
        super().__init__(input_size, hidden_size)
        if input_size != hidden_size:
            raise ValueError(f"tree_rnn uses the token's vector as the leaf's state (Socher et al. 2011), so "
                             f"input_size must equal hidden_size; got input_size={input_size}, "
                             f"hidden_size={hidden_size}")
        self.weight = nn.Parameter(torch.empty(hidden_size, 2 * hidden_size))
        self.bias = nn.Parameter(torch.empty(hidden_size)) if bias else None
        self.reset_parameters()

    def leaf(self, x: Tensor) -> Tensor:
        return x  # (n, H): the token's vector is the leaf's state

    def combine(self, children: Tensor, level) -> Tensor:
        pairs = children.view(level.count, 2 * self.hidden_size)  # (n_k, 2H): [h_left; h_right] row by row
        if self.bias is None:
            return torch.tanh(pairs @ self.weight.t())  # (n_k, H)
        return torch.tanh(torch.addmm(self.bias, pairs, self.weight.t()))  # (n_k, H)

    def node(self, x: Tensor | None, children: Sequence[Tensor]) -> Tensor:
        self.check_node(x, children)
        if not children:
            return x
        hid = self.hidden_size
        left, right = children
        pre = left @ self.weight[:, :hid].t() + right @ self.weight[:, hid:].t()  # W_left h_left + W_right h_right
        if self.bias is not None:
            pre = pre + self.bias
        return torch.tanh(pre)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias is not None}"

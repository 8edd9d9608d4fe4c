"""The Child-Sum Tree-LSTM of Tai, Socher & Manning (2015): any number of children, unordered.

Tai, Socher & Manning (2015), "Improved semantic representations from
tree-structured long short-term memory networks", ACL, §3.1, equations 2–8.  Node j
with children C(j):

    h̃_j  = Σ_{k ∈ C(j)} h_k                                       (2)
    i_j  = σ(W^(i) x_j + U^(i) h̃_j + b^(i))                        (3)
    f_jk = σ(W^(f) x_j + U^(f) h_k + b^(f))     k ∈ C(j)           (4)  a forget gate per child
    o_j  = σ(W^(o) x_j + U^(o) h̃_j + b^(o))                        (5)
    u_j  = tanh(W^(u) x_j + U^(u) h̃_j + b^(u))                     (6)
    c_j  = i_j ⊙ u_j + Σ_{k ∈ C(j)} f_jk ⊙ c_k                      (7)
    h_j  = o_j ⊙ tanh(c_j)                                        (8)

The children share their weights and enter through sums, so the cell takes any
number of children in any order (the paper's dependency trees); each child's memory
c_k still has its own forget gate f_jk, computed from that child's h_k.

Leaves and inner nodes: in the paper's dependency trees every node is a word with
its own x_j; here, as in its constituency trees (and in ListOps), only leaves carry
a token and inner nodes have no input (the W x_j terms are absent).  A leaf has no
children (h̃ = 0, no forget gates), so

    i, o, u = σ(W^(i) x + b^(i)), σ(W^(o) x + b^(o)), tanh(W^(u) x + b^(u));   c = i ⊙ u;   h = o ⊙ tanh(c)

and W^(f) never acts: it is left out.

Layout: ``weight_x`` (3H, I) W^(i), W^(o), W^(u); ``weight_iou`` (3H, H) U^(i), U^(o),
U^(u); ``weight_f`` (H, H) U^(f); ``bias`` (4H,) b^(i), b^(o), b^(f), b^(u).  A level
costs one ``index_add`` for h̃ over its E_k child links, one product (n_k, H) × (H, 3H),
one (E_k, H) × (H, H) for the forget gates and one ``index_add`` for Σ f ⊙ c.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .base import TreeCell, TreeLSTMState


class ChildSumTreeLSTMCell(TreeCell):
    """The Child-Sum Tree-LSTM (module docstring); state ``TreeLSTMState(h, c)``, each (n, H).

    Args:
        input_size: I, the leaves' vector size (the token embedding's).
        hidden_size: H.
        bias: learn the biases b (True) or leave them out.
    """

    name = "child_sum_tree_lstm"
    state_type = TreeLSTMState

    def __init__(self, input_size: int, hidden_size: int, *, bias: bool = True) -> None:
        super().__init__(input_size, hidden_size)
        self.weight_x = nn.Parameter(torch.empty(3 * hidden_size, input_size))
        self.weight_iou = nn.Parameter(torch.empty(3 * hidden_size, hidden_size))
        self.weight_f = nn.Parameter(torch.empty(hidden_size, hidden_size))
        self.bias = nn.Parameter(torch.empty(4 * hidden_size)) if bias else None
        self.reset_parameters()

    def _biases(self) -> tuple[Tensor | None, Tensor | None]:
        """(b^(i), b^(o), b^(u) as one (3H,), b^(f) (H,))."""
        if self.bias is None:
            return None, None
        hid = self.hidden_size
        return torch.cat([self.bias[: 2 * hid], self.bias[3 * hid :]]), self.bias[2 * hid : 3 * hid]

    def _gates(self, pre: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """pre (n, 3H) -> i, o, u."""
        hid = self.hidden_size
        io = torch.sigmoid(pre[:, : 2 * hid])
        return io[:, :hid], io[:, hid:], torch.tanh(pre[:, 2 * hid :])

    def leaf(self, x: Tensor) -> TreeLSTMState:
        b_iou, _ = self._biases()
        pre = x @ self.weight_x.t() if b_iou is None else torch.addmm(b_iou, x, self.weight_x.t())  # (n, 3H)
        i, o, u = self._gates(pre)
        c = i * u
        return TreeLSTMState(o * torch.tanh(c), c)

    def combine(self, children: TreeLSTMState, level) -> TreeLSTMState:
        n, hid = level.count, self.hidden_size
        b_iou, b_f = self._biases()
        h_sum = children.h.new_zeros(n, hid).index_add(0, level.parents, children.h)  # (n_k, H) h̃, (2)
        pre = h_sum @ self.weight_iou.t() if b_iou is None else torch.addmm(b_iou, h_sum, self.weight_iou.t())
        i, o, u = self._gates(pre)  # (3), (5), (6)
        f_pre = children.h @ self.weight_f.t() if b_f is None else torch.addmm(b_f, children.h, self.weight_f.t())
        kept = torch.sigmoid(f_pre) * children.c  # (E_k, H): f_jk ⊙ c_k, (4)
        c = torch.addcmul(children.c.new_zeros(n, hid).index_add(0, level.parents, kept), i, u)  # (7)
        return TreeLSTMState(o * torch.tanh(c), c)  # (8)

    def node(self, x: Tensor | None, children: Sequence[TreeLSTMState]) -> TreeLSTMState:
        """One node, equations (2)–(8) term by term: x (1, I) at a leaf, None at an inner node."""
        self.check_node(x, children)
        hid = self.hidden_size

        def b(k: int) -> Tensor | float:  # bias blocks i, o, f, u
            return 0.0 if self.bias is None else self.bias[k * hid : (k + 1) * hid]

        if not children:
            w_i, w_o, w_u = self.weight_x[:hid], self.weight_x[hid : 2 * hid], self.weight_x[2 * hid :]
            i = torch.sigmoid(x @ w_i.t() + b(0))
            o = torch.sigmoid(x @ w_o.t() + b(1))
            u = torch.tanh(x @ w_u.t() + b(3))
            c = i * u
            return TreeLSTMState(o * torch.tanh(c), c)
        u_i, u_o, u_u = self.weight_iou[:hid], self.weight_iou[hid : 2 * hid], self.weight_iou[2 * hid :]
        h_sum = sum(child.h for child in children)  # (2)
        i = torch.sigmoid(h_sum @ u_i.t() + b(0))  # (3)
        forget = [torch.sigmoid(child.h @ self.weight_f.t() + b(2)) for child in children]  # (4)
        o = torch.sigmoid(h_sum @ u_o.t() + b(1))  # (5)
        u = torch.tanh(h_sum @ u_u.t() + b(3))  # (6)
        c = i * u + sum(f * child.c for f, child in zip(forget, children))  # (7)
        return TreeLSTMState(o * torch.tanh(c), c)  # (8)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias is not None}"

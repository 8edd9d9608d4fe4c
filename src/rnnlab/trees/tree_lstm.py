"""The binary N-ary Tree-LSTM of Tai, Socher & Manning (2015), N = 2.

Tai, Socher & Manning (2015), "Improved semantic representations from
tree-structured long short-term memory networks", ACL, §3.2, equations 9–14.  Node
j with ordered children h_j1 … h_jN, c_j1 … c_jN (N = 2: left, right):

    i_j  = σ(W^(i) x_j + Σ_l U_l^(i) h_jl + b^(i))                 (9)
    f_jk = σ(W^(f) x_j + Σ_l U_kl^(f) h_jl + b^(f))   k = 1 … N    (10)  a forget gate per child
    o_j  = σ(W^(o) x_j + Σ_l U_l^(o) h_jl + b^(o))                 (11)
    u_j  = tanh(W^(u) x_j + Σ_l U_l^(u) h_jl + b^(u))              (12)
    c_j  = i_j ⊙ u_j + Σ_l f_jl ⊙ c_jl                             (13)
    h_j  = o_j ⊙ tanh(c_j)                                        (14)

Each child has its own weights U_l (the model tells left from right), and each
forget gate f_jk reads every child, so the left child's memory can be kept or
dropped depending on the right child.

Leaves and inner nodes: as in the paper's constituency trees, only leaves have an
input x_j (the token's vector) and inner nodes have none (the W x_j terms are absent).
A leaf has no children (their h and c are zero), so its equations reduce to

    i, o, u = σ(W^(i) x + b^(i)), σ(W^(o) x + b^(o)), tanh(W^(u) x + b^(u));   c = i ⊙ u;   h = o ⊙ tanh(c)

and W^(f) never acts (it would only gate zero memories): it is left out.  b^(f) is
one vector shared by the N forget gates, as in equation (10).

Layout: ``weight_x`` (3H, I) holds W^(i), W^(o), W^(u); ``weight_h`` (5H, 2H) holds
[U_1 U_2] for the gate rows i, o, f_1, f_2, u (U_kl^(f) in rows f_k, columns of
child l); ``bias`` (4H,) b^(i), b^(o), b^(f), b^(u).  A level's n_k nodes are one
product (n_k, 2H) × (2H, 5H) and one sigmoid over the first 4H columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .base import TreeCell, TreeLSTMState


class TreeLSTMCell(TreeCell):
    """The binary N-ary Tree-LSTM (module docstring); state ``TreeLSTMState(h, c)``, each (n, H).

    Args:
        input_size: I, the leaves' vector size (the token embedding's).
        hidden_size: H.
        bias: learn the biases b (True) or leave them out.
    """

    name = "tree_lstm"
    binary = True
    state_type = TreeLSTMState

    def __init__(self, input_size: int, hidden_size: int, *, bias: bool = True) -> None:
        super().__init__(input_size, hidden_size)
        self.weight_x = nn.Parameter(torch.empty(3 * hidden_size, input_size))
        self.weight_h = nn.Parameter(torch.empty(5 * hidden_size, 2 * hidden_size))
        self.bias = nn.Parameter(torch.empty(4 * hidden_size)) if bias else None
        self.reset_parameters()

    def _biases(self) -> tuple[Tensor | None, Tensor | None]:
        """(leaf bias (3H,) for i, o, u; inner bias (5H,) for i, o, f_1, f_2, u)."""
        if self.bias is None:
            return None, None
        hid = self.hidden_size
        b_io, b_f, b_u = self.bias[: 2 * hid], self.bias[2 * hid : 3 * hid], self.bias[3 * hid :]
        return torch.cat([b_io, b_u]), torch.cat([b_io, b_f, b_f, b_u])

    def leaf(self, x: Tensor) -> TreeLSTMState:
        hid = self.hidden_size
        leaf_bias, _ = self._biases()
        pre = x @ self.weight_x.t() if leaf_bias is None else torch.addmm(leaf_bias, x, self.weight_x.t())  # (n, 3H)
        io = torch.sigmoid(pre[:, : 2 * hid])
        c = io[:, :hid] * torch.tanh(pre[:, 2 * hid :])  # i ⊙ u
        return TreeLSTMState(io[:, hid:] * torch.tanh(c), c)

    def combine(self, children: TreeLSTMState, level) -> TreeLSTMState:
        n, hid = level.count, self.hidden_size
        h_pairs = children.h.view(n, 2 * hid)  # (n_k, 2H): [h_j1; h_j2]
        _, inner_bias = self._biases()
        pre = h_pairs @ self.weight_h.t() if inner_bias is None else torch.addmm(inner_bias, h_pairs,
                                                                                   self.weight_h.t())  # (n_k, 5H)
        gates = torch.sigmoid(pre[:, : 4 * hid])  # i, o, f_1, f_2
        u = torch.tanh(pre[:, 4 * hid :])
        forget = gates[:, 2 * hid :].view(n, 2, hid)  # (n_k, 2, H): f_j1, f_j2
        kept = (forget * children.c.view(n, 2, hid)).sum(1)  # Σ_l f_jl ⊙ c_jl
        c = torch.addcmul(kept, gates[:, :hid], u)  # (13)
        return TreeLSTMState(gates[:, hid : 2 * hid] * torch.tanh(c), c)  # (14)

    def node(self, x: Tensor | None, children: Sequence[TreeLSTMState]) -> TreeLSTMState:
        """One node, equations (9)–(14) term by term: x (1, I) at a leaf, None at an inner node."""
        self.check_node(x, children)
        hid = self.hidden_size
        rows = {"i": 0, "o": 1, "f1": 2, "f2": 3, "u": 4}  # gate blocks of weight_h
        bias = {"i": 0, "o": 1, "f": 2, "u": 3}  # blocks of bias

        def b(gate: str) -> Tensor | float:
            return 0.0 if self.bias is None else self.bias[bias[gate] * hid : (bias[gate] + 1) * hid]

        def recurrent(gate: str) -> Tensor | float:  # Σ_l U_l^(gate) h_jl
            block = self.weight_h[rows[gate] * hid : (rows[gate] + 1) * hid]  # (H, 2H)
            return sum(child.h @ block[:, k * hid : (k + 1) * hid].t() for k, child in enumerate(children))

        if not children:
            w = {"i": self.weight_x[:hid], "o": self.weight_x[hid : 2 * hid], "u": self.weight_x[2 * hid :]}
            i = torch.sigmoid(x @ w["i"].t() + b("i"))
            o = torch.sigmoid(x @ w["o"].t() + b("o"))
            u = torch.tanh(x @ w["u"].t() + b("u"))
            c = i * u
            return TreeLSTMState(o * torch.tanh(c), c)
        i = torch.sigmoid(recurrent("i") + b("i"))  # (9)
        forget = [torch.sigmoid(recurrent(f"f{k + 1}") + b("f")) for k in range(2)]  # (10)
        o = torch.sigmoid(recurrent("o") + b("o"))  # (11)
        u = torch.tanh(recurrent("u") + b("u"))  # (12)
        c = i * u + sum(f * child.c for f, child in zip(forget, children))  # (13)
        return TreeLSTMState(o * torch.tanh(c), c)  # (14)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias is not None}"

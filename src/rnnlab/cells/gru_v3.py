"""GRU in the form of Cho et al. (2014, arXiv:1406.1078v3) and the gate variants
GRU1, GRU2, GRU3 of Dey & Salem (2017, arXiv:1701.05923), one time step.

``gru_v3`` (Keras' ``reset_after=False`` form; the reset gate acts on h *before*
the recurrent product, and each gate has one bias), Dey & Salem eqs. 1–4:

    z = σ(W_z x + U_z h + b_z)
    r = σ(W_r x + U_r h + b_r)
    ĥ = tanh(W_h x + U_h (r ⊙ h) + b_h)
    h' = (1 − z) ⊙ h + z ⊙ ĥ

Convention: z weights the *new* candidate, as in Dey & Salem and Cho et al. v3
(the opposite of torch.nn.GRU's z).  The variants change only the gates (§3):

    gru1:  z = σ(U_z h + b_z),  r = σ(U_r h + b_r)      2·n·m fewer parameters
    gru2:  z = σ(U_z h),        r = σ(U_r h)            a further 2·n fewer
    gru3:  z = σ(b_z),          r = σ(b_r)              2·(n² + n·m) fewer than gru_v3

(n hidden units, m inputs.)  Parameters: ``weight_ih`` (W_z, W_r, W_h rows, or
W_h alone), ``weight_hh`` (U_z, U_r, U_h rows, or U_h alone), ``bias`` (b_z, b_r,
b_h, or b_h alone).  A whole sequence runs on the hand-written kernel of
gru_v3_scan.py.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import RecurrentCell, last_steps
from .gru_v3_scan import GRUv3Scan
from .registry import register

# variant -> (gates see the input, gates see h, gates have a bias)
VARIANTS = {
    "gru_v3": (True, True, True),
    "gru1": (False, True, True),
    "gru2": (False, True, False),
    "gru3": (False, False, True),
}


class GRUv3Cell(RecurrentCell):
    """One step of ``gru_v3``, ``gru1``, ``gru2`` or ``gru3``; state and output h (B, H)."""

    def __init__(self, input_size: int, hidden_size: int, *, variant: str = "gru_v3", bias: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size)
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {sorted(VARIANTS)}; got {variant!r}")
        self.variant = variant
        gate_input, gate_recurrent, gate_bias = VARIANTS[variant]
        self.gate_input, self.gate_recurrent = gate_input, gate_recurrent
        self.gate_bias = gate_bias and bias
        H, kw = hidden_size, {"device": device, "dtype": dtype}
        self.weight_ih = nn.Parameter(torch.empty((3 if gate_input else 1) * H, input_size, **kw))
        self.weight_hh = nn.Parameter(torch.empty((3 if gate_recurrent else 1) * H, H, **kw))
        self.bias = nn.Parameter(torch.empty((3 if self.gate_bias else 1) * H, **kw)) if bias else None
        self.reset_parameters()

    def forward(self, x: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        self.check_step(x, h)
        H = self.hidden_size
        pre = h.new_zeros(h.shape[0], 2 * H)  # z, r pre-activations
        if self.gate_input:
            pre = pre + F.linear(x, self.weight_ih[: 2 * H])
        if self.gate_recurrent:
            pre = pre + F.linear(h, self.weight_hh[: 2 * H])
        if self.gate_bias:
            pre = pre + self.bias[: 2 * H]
        z, r = torch.sigmoid(pre).split(H, dim=-1)
        cand_bias = self.bias[-H:] if self.bias is not None else None
        cand = torch.tanh(F.linear(x, self.weight_ih[-H:], cand_bias) + F.linear(r * h, self.weight_hh[-H:]))
        h = (1 - z) * h + z * cand
        return h, h

    def sequence(self, x: Tensor, h: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
        y = GRUv3Scan.apply(x, self.weight_ih, self.bias, h, self.weight_hh)  # (T, B, H)
        return y, last_steps(y, lengths)


_DESCRIPTIONS = {
    "gru_v3": "GRU of Cho et al. (2014, v3): reset gate applied to h before the recurrent product",
    "gru1": "GRU1 of Dey & Salem (2017): gates see only h and a bias",
    "gru2": "GRU2 of Dey & Salem (2017): gates see only h, no bias",
    "gru3": "GRU3 of Dey & Salem (2017): gates are a bias only",
}
for _name in VARIANTS:
    register(_name, lambda i, h, _v=_name, **kw: GRUv3Cell(i, h, variant=_v, **kw), _DESCRIPTIONS[_name])

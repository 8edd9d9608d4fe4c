"""Gated recurrent unit in torch.nn's form, one time step.

Cho et al. (2014), "Learning phrase representations using RNN encoder-decoder
for statistical machine translation", §2.3, in the form of torch.nn.GRUCell
(gate order r, z, n; the reset gate multiplies the recurrent product *after* the
matrix product, so each gate has two biases, as in cuDNN):

    r = σ(W_r x + b_ir + U_r h + b_hr)
    z = σ(W_z x + b_iz + U_z h + b_hz)
    n = tanh(W_n x + b_in + r ⊙ (U_n h + b_hn))
    h' = (1 − z) ⊙ n + z ⊙ h

Note the convention: here z weights the *old* state (torch.nn, Cho et al.);
Dey & Salem's variants (``gru_v3``, ``gru1``–``gru3``) weight the new one.
On CPU a whole sequence runs on a hand-written kernel (gru_scan.py) that is
faster than torch's own; on GPU, on cuDNN.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import last_steps
from .gru_scan import GRUScan
from .registry import register
from .torch_kernels import TorchKernelCell


class GRUCell(TorchKernelCell):
    """GRU step (torch.nn form); state and output h (B, H).

    weight_ih (3H, H_in), weight_hh (3H, H), bias_ih (3H,), bias_hh (3H,): torch.nn.GRU's layout.
    """

    torch_kernel = "GRU"

    def __init__(self, input_size: int, hidden_size: int, *, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size)
        kw = {"device": device, "dtype": dtype}
        self.weight_ih = nn.Parameter(torch.empty(3 * hidden_size, input_size, **kw))
        self.weight_hh = nn.Parameter(torch.empty(3 * hidden_size, hidden_size, **kw))
        self.bias_ih = nn.Parameter(torch.empty(3 * hidden_size, **kw)) if bias else None
        self.bias_hh = nn.Parameter(torch.empty(3 * hidden_size, **kw)) if bias else None
        self.reset_parameters()

    def forward(self, x: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        self.check_step(x, h)
        gx = F.linear(x, self.weight_ih, self.bias_ih)  # (B, 3H)
        gh = F.linear(h, self.weight_hh, self.bias_hh)  # (B, 3H)
        H = self.hidden_size
        r = torch.sigmoid(gx[:, :H] + gh[:, :H])
        z = torch.sigmoid(gx[:, H : 2 * H] + gh[:, H : 2 * H])
        n = torch.tanh(gx[:, 2 * H :] + r * gh[:, 2 * H :])
        h = (1 - z) * n + z * h
        return h, h

    def uses_torch_kernel(self, x: Tensor) -> bool:
        return x.device.type != "cpu"  # on CPU the hand-written scan is faster than torch's kernel

    def sequence(self, x: Tensor, h: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
        if self.uses_torch_kernel(x):
            return super().sequence(x, h, lengths)
        y = GRUScan.apply(x, self.weight_ih, self.bias_ih, h, self.weight_hh, self.bias_hh)  # (T, B, H)
        return y, last_steps(y, lengths)


register("gru", GRUCell, "GRU in torch.nn's form: reset gate applied after the recurrent product (torch.nn.GRU)")

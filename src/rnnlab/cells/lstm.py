"""Long short-term memory, one time step.

Hochreiter & Schmidhuber (1997), "Long short-term memory", Neural Computation 9;
forget gate from Gers, Schmidhuber & Cummins (2000); output projection from Sak,
Senior & Beaufays (2014).  With gate order i, f, g, o as in torch.nn.LSTMCell:

    i, f, o = σ(W_i x + b_i + U_i h + c_i), σ(...), σ(...)
    g       = tanh(W_g x + b_g + U_g h + c_g)
    c' = f ⊙ c + i ⊙ g
    h' = o ⊙ tanh(c'),            or  W_hr (o ⊙ tanh(c'))  with proj_size > 0

Departure from the 1997 paper: no peephole connections and a forget gate, the
form torch.nn and most later work use.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .registry import register
from .torch_kernels import TorchKernelCell


class LSTMState(NamedTuple):
    """State of the LSTM."""

    h: Tensor  # (B, H_out): H, or proj_size when projecting
    c: Tensor  # (B, H)


class LSTMCell(TorchKernelCell):
    """LSTM step; state ``LSTMState(h, c)``, output h.

    weight_ih (4H, H_in), weight_hh (4H, H_out), bias_ih (4H,), bias_hh (4H,),
    weight_hr (proj_size, H) when proj_size > 0: torch.nn.LSTM's layout.
    """

    state_type = LSTMState
    torch_kernel = "LSTM"

    def __init__(self, input_size: int, hidden_size: int, *, bias: bool = True, proj_size: int = 0,
                 forget_bias: float | None = None, input_bias: float | None = None, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size)
        if isinstance(proj_size, bool) or not isinstance(proj_size, int) or not 0 <= proj_size < hidden_size:
            raise ValueError(f"proj_size must be an int in [0, hidden_size={hidden_size}); got {proj_size!r}")
        self.proj_size = proj_size
        self.output_size = proj_size or hidden_size
        self.state_sizes = (self.output_size, hidden_size)
        kw = {"device": device, "dtype": dtype}
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size, **kw))
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, self.output_size, **kw))
        self.bias_ih = nn.Parameter(torch.empty(4 * hidden_size, **kw)) if bias else None
        self.bias_hh = nn.Parameter(torch.empty(4 * hidden_size, **kw)) if bias else None
        self.weight_hr = nn.Parameter(torch.empty(proj_size, hidden_size, **kw)) if proj_size else None
        for name, value in (("forget_bias", forget_bias), ("input_bias", input_bias)):
            if value is not None and not bias:
                raise ValueError(f"{name} needs bias=True")
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise ValueError(f"{name} must be a number; got {value!r}")
        self.forget_bias, self.input_bias = forget_bias, input_bias
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch.nn's U(−1/√H, 1/√H); then, when given, the gates' biases for long time lags.

        ``forget_bias``: the forget gate's two biases start at (forget_bias, 0), so that the cell
        remembers by default at the start of training: Gers, Schmidhuber & Cummins (2000) §4,
        Jozefowicz et al. (2015).  A lag of T steps needs σ(forget_bias)^T not to vanish: 1.0
        keeps 0.73 per step, 5.0 keeps 0.993 (0.5 after 100 steps), close to the constant error
        carousel of the original LSTM, which had no forget gate.
        ``input_bias``: the input gate's two biases start at (input_bias, 0).  A negative value
        keeps the gate mostly shut at first, so the cell does not fill up with the noise of every
        step before it has learnt what to store: Hochreiter & Schmidhuber (1997) §5 initialise
        the input gates' biases negative for this reason (−1 to −6 across their memory blocks)."""
        super().reset_parameters()
        H = self.hidden_size
        with torch.no_grad():
            for gate, value in ((0, self.input_bias), (1, self.forget_bias)):  # gate order i, f, g, o
                if value is not None:
                    self.bias_ih[gate * H : (gate + 1) * H].fill_(value)
                    self.bias_hh[gate * H : (gate + 1) * H].zero_()

    def forward(self, x: Tensor, state: LSTMState) -> tuple[Tensor, LSTMState]:
        self.check_step(x, state)
        gates = F.linear(x, self.weight_ih, self.bias_ih) + F.linear(state.h, self.weight_hh, self.bias_hh)
        i, f, g, o = gates.chunk(4, dim=-1)  # each (B, H)
        c = torch.sigmoid(f) * state.c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        if self.weight_hr is not None:
            h = F.linear(h, self.weight_hr)  # (B, proj_size)
        return h, LSTMState(h, c)


register("lstm", LSTMCell, "LSTM, Hochreiter & Schmidhuber (1997) with the forget gate of Gers et al. (2000) (torch.nn.LSTM)")

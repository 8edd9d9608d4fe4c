"""Elman's simple recurrent network, one time step.

Elman (1990), "Finding structure in time", Cognitive Science 14: the hidden
layer receives the input and a copy of its own previous activation (the
"context units"), with the same weights at every step:

    h' = φ(W_ih x + b_ih + W_hh h + b_hh),    φ = tanh or ReLU

Elman used the logistic function; ``elman_tanh`` and ``elman_relu`` are the two
forms torch.nn.RNN offers, with torch.nn.RNN's two bias vectors (one would do;
two keep the weights interchangeable with torch.nn).  On CPU a whole sequence runs
on a hand-written kernel (elman_scan.py) that is faster than torch's own; on GPU,
on cuDNN.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import last_steps
from .elman_scan import ElmanScan
from .registry import register
from .torch_kernels import TorchKernelCell

_NONLINEARITIES = {"tanh": (torch.tanh, "RNN_TANH"), "relu": (torch.relu, "RNN_RELU")}


class ElmanCell(TorchKernelCell):
    """h' = φ(W_ih x + b_ih + W_hh h + b_hh); state and output are h (B, H).

    weight_ih (H, H_in), weight_hh (H, H), bias_ih (H,), bias_hh (H,): torch.nn.RNNCell's layout.
    """

    def __init__(self, input_size: int, hidden_size: int, *, nonlinearity: str = "tanh", bias: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size)
        if nonlinearity not in _NONLINEARITIES:
            raise ValueError(f"nonlinearity must be one of {sorted(_NONLINEARITIES)}; got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        self.activation, self.torch_kernel = _NONLINEARITIES[nonlinearity]
        kw = {"device": device, "dtype": dtype}
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size, **kw))
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size, **kw))
        self.bias_ih = nn.Parameter(torch.empty(hidden_size, **kw)) if bias else None
        self.bias_hh = nn.Parameter(torch.empty(hidden_size, **kw)) if bias else None
        self.reset_parameters()

    def forward(self, x: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        self.check_step(x, h)
        h = self.activation(F.linear(x, self.weight_ih, self.bias_ih) + F.linear(h, self.weight_hh, self.bias_hh))
        return h, h

    def uses_torch_kernel(self, x: Tensor) -> bool:
        return x.device.type != "cpu"  # on CPU the hand-written scan is faster than torch's kernel

    def sequence(self, x: Tensor, h: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
        if self.uses_torch_kernel(x):
            return super().sequence(x, h, lengths)
        y = ElmanScan.apply(x, self.weight_ih, self.bias_ih, h, self.weight_hh, self.bias_hh,
                            self.nonlinearity)  # (T, B, H)
        return y, last_steps(y, lengths)


register("elman_tanh", lambda i, h, **kw: ElmanCell(i, h, nonlinearity="tanh", **kw),
         "Elman (1990) simple recurrent network, h' = tanh(W_ih x + W_hh h + b) (torch.nn.RNN)")
register("elman_relu", lambda i, h, **kw: ElmanCell(i, h, nonlinearity="relu", **kw),
         "Elman network with ReLU, h' = relu(W_ih x + W_hh h + b) (torch.nn.RNN, nonlinearity='relu')")

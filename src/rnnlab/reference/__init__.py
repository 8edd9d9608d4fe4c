"""Backpropagation through time written out by hand: the Elman network and the LSTM in NumPy.

The equations of the classic tutorials in code, for reading: each module's docstring
states its forward pass and the backward recursions, and each function follows them
line by line over a whole sequence and a batch.  No torch inside: the gradients are
computed independently of autograd, and tests/reference checks that they equal
autograd's through rnnlab's layers (torch's fused kernels and the plain loop) to 1e-10
in float64.

    elman_forward(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity) -> hs, cache
    elman_backward(dhs, cache, dh_final=None) -> {"x", "h0", "weight_ih", ...: gradient}
    lstm_forward(x, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh) -> hs, c_T, cache
    lstm_backward(dhs, cache, dh_final=None, dc_final=None) -> {"x", "h0", "c0", ...: gradient}
    gradient_check(loss, grads, arrays) -> {name: relative error against finite differences}

Arguments are named like the parameters of rnnlab's cells and torch.nn.RNNCell/LSTMCell,
so ``{name: p.detach().numpy() for name, p in cell.named_parameters()}`` can be passed
as it is.  A check by finite differences, as a learner would write one:

>>> import numpy as np
>>> from rnnlab.reference import elman_backward, elman_forward, gradient_check
>>> rng = np.random.default_rng(0)
>>> T, B, H_in, H = 4, 2, 3, 5
>>> arrays = {"x": rng.normal(size=(T, B, H_in)), "h0": np.zeros((B, H)),
...           "weight_ih": rng.normal(size=(H, H_in)) / 2, "weight_hh": rng.normal(size=(H, H)) / 2,
...           "bias_ih": np.zeros(H), "bias_hh": np.zeros(H)}
>>> hs, cache = elman_forward(**arrays)
>>> upstream = rng.normal(size=hs.shape)  # L = Σ upstream ⊙ hs, so that ∂L/∂h_t = upstream[t]
>>> grads = elman_backward(upstream, cache)
>>> errors = gradient_check(lambda: np.sum(upstream * elman_forward(**arrays)[0]), grads, arrays)
>>> max(errors.values()) < 1e-7
True
"""

from .checks import gradient_check, numerical_gradient
from .elman import ElmanCache, elman_backward, elman_forward
from .lstm import LSTMCache, lstm_backward, lstm_forward

__all__ = ["elman_forward", "elman_backward", "ElmanCache", "lstm_forward", "lstm_backward", "LSTMCache",
           "gradient_check", "numerical_gradient"]

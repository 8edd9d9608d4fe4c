"""Elman network over a whole sequence, forward and backward through time, in NumPy.

Symbols: T steps, B sequences in the batch, H_in input features, H hidden units; for one
sequence, x_t (H_in) is the input at step t = 1 … T and h_t (H) the hidden state, h_0 given.
Forward (Elman 1990), with φ = tanh or ReLU:

    a_t = W_ih x_t + b_ih + W_hh h_{t−1} + b_hh          pre-activation
    h_t = φ(a_t)

The loss L reads the outputs h_1 … h_T, and possibly the final state h_T again; write
g_t = ∂L/∂h_t for the part that comes from above at step t (``dhs[t]``, plus ``dh_final``
at t = T).  Backpropagation through time (Werbos 1990) runs the unrolled network backwards,
from t = T down to 1, with δ_t = ∂L/∂a_t:

    ∂L/∂h_t = g_t + W_hhᵀ δ_{t+1}                         (no second term at t = T)
    δ_t     = φ′(a_t) ⊙ ∂L/∂h_t,     φ′ = 1 − h_t² for tanh, [h_t > 0] for ReLU

and then every weight's gradient is a sum over the steps:

    ∂L/∂W_ih = Σ_t δ_t x_tᵀ      ∂L/∂W_hh = Σ_t δ_t h_{t−1}ᵀ      ∂L/∂b_ih = ∂L/∂b_hh = Σ_t δ_t
    ∂L/∂x_t  = W_ihᵀ δ_t         ∂L/∂h_0  = W_hhᵀ δ_1

Each step back multiplies the error by the Jacobian ∂h_t/∂h_{t−1} = diag(φ′(a_t)) W_hh
(transposed), so the error from step t reaches step t − k scaled by a product of k such
matrices: it vanishes or explodes geometrically with k (Bengio, Simard & Frasconi 1994;
Pascanu, Mikolov & Bengio 2013).

In code the batch is a leading dimension and vectors are rows, so W x becomes
``x @ W.T``, Wᵀ δ becomes ``δ @ W`` and Σ_t δ_t x_tᵀ sums over the batch too.  Arrays
count from 0 and steps from 1: ``hs[t]`` is h_t, but ``x[t]``, ``dhs[t]``, ``deltas[t]``
are x_{t+1}, g_{t+1}, δ_{t+1}.  Weights are
laid out like torch.nn.RNN and ``rnnlab.cells.ElmanCell`` (weight_ih = W_ih (H, H_in),
weight_hh = W_hh (H, H), bias_ih = b_ih, bias_hh = b_hh, both (H,)), so a cell's
``named_parameters()`` can be passed as they are.  The forward pass keeps h_0 … h_T for the
backward pass (φ′ is computed from h_t); both cost O(T·B·H·(H_in + H)).

Where this departs from Elman (1990): his units were logistic, with one bias (torch.nn's
two biases are kept, so that weights are interchangeable); and he trained by ordinary
backpropagation with the context units h_{t−1} taken as fixed extra inputs, that is,
truncated after one step.  Here the gradient is the full one, back to h_0.

References: Elman (1990), "Finding structure in time", Cognitive Science 14; Werbos (1990),
"Backpropagation through time: what it does and how to do it", Proc. IEEE 78(10); Williams
& Zipser (1995), "Gradient-based learning algorithms for recurrent networks and their
computational complexity"; Bengio, Simard & Frasconi (1994); Pascanu, Mikolov & Bengio
(2013), "On the difficulty of training recurrent neural networks".
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .checks import check_shapes

# φ, and φ′ written in terms of h = φ(a), which is what the forward pass keeps.
_NONLINEARITIES = {
    "tanh": (np.tanh, lambda h: 1.0 - h**2),
    "relu": (lambda a: np.maximum(a, 0.0), lambda h: (h > 0).astype(h.dtype)),
}


class ElmanCache(NamedTuple):
    """What the backward pass needs from the forward pass."""

    x: np.ndarray  # (T, B, H_in)
    hs: np.ndarray  # (T + 1, B, H): h_0 … h_T
    weight_ih: np.ndarray  # (H, H_in)
    weight_hh: np.ndarray  # (H, H)
    nonlinearity: str


def elman_forward(x: np.ndarray, h0: np.ndarray, weight_ih: np.ndarray, weight_hh: np.ndarray,
                  bias_ih: np.ndarray, bias_hh: np.ndarray, nonlinearity: str = "tanh",
                  ) -> tuple[np.ndarray, ElmanCache]:
    """x (T, B, H_in), h0 (B, H) -> hs (T, B, H), h_1 … h_T (the final state is hs[-1]), and the cache."""
    size = check_shapes("elman_forward", x=(x, "T B H_in"), h0=(h0, "B H"), weight_ih=(weight_ih, "H H_in"),
                        weight_hh=(weight_hh, "H H"), bias_ih=(bias_ih, "H"), bias_hh=(bias_hh, "H"))
    if nonlinearity not in _NONLINEARITIES:
        raise ValueError(f"elman_forward: nonlinearity must be one of {sorted(_NONLINEARITIES)}; got {nonlinearity!r}")
    phi, _ = _NONLINEARITIES[nonlinearity]
    T, B, H = size["T"], size["B"], size["H"]
    hs = np.empty((T + 1, B, H), dtype=np.result_type(x, h0, weight_ih, weight_hh))  # h_0 … h_T
    hs[0] = h0
    input_terms = x @ weight_ih.T + bias_ih + bias_hh  # (T, B, H): W_ih x_t + b_ih + b_hh, all steps at once
    for t in range(T):  # h_{t+1} from h_t and x_{t+1}
        hs[t + 1] = phi(input_terms[t] + hs[t] @ weight_hh.T)
    return hs[1:], ElmanCache(x, hs, weight_ih, weight_hh, nonlinearity)


def elman_backward(dhs: np.ndarray, cache: ElmanCache, dh_final: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Gradients of L by BPTT, keyed like elman_forward's arguments: x, h0, weight_ih, weight_hh, bias_ih, bias_hh.

    dhs (T, B, H): ∂L/∂h_t from above at every step (zeros where L does not read h_t).
    dh_final (B, H) or None: ∂L/∂h_T through the final state, when L reads it apart from dhs[-1].
    """
    x, hs, weight_ih, weight_hh, nonlinearity = cache
    check_shapes("elman_backward", hs=(hs[1:], "T B H"), dhs=(dhs, "T B H"), dh_final=(dh_final, "B H"))
    _, phi_prime = _NONLINEARITIES[nonlinearity]
    deltas = np.empty_like(hs[1:])  # (T, B, H): δ_t = ∂L/∂a_t
    # ∂L/∂h_t through what comes after it: W_hhᵀ δ_{t+1}, or the final state's term at t = T.
    dh_next = np.zeros_like(hs[0]) if dh_final is None else dh_final  # (B, H)
    for t in reversed(range(len(deltas))):  # δ_{t+1} from h_{t+1}
        dh = dhs[t] + dh_next  # ∂L/∂h_{t+1} = g_{t+1} + W_hhᵀ δ_{t+2}
        deltas[t] = phi_prime(hs[t + 1]) * dh
        dh_next = deltas[t] @ weight_hh  # W_hhᵀ δ, for the step before
    bias = deltas.sum(axis=(0, 1))  # Σ_t δ_t, summed over the batch too
    return {
        "x": deltas @ weight_ih,  # (T, B, H_in): W_ihᵀ δ_t
        "h0": dh_next,  # (B, H): W_hhᵀ δ_1
        "weight_ih": np.einsum("tbh,tbi->hi", deltas, x),  # (H, H_in): Σ_t δ_t x_tᵀ
        "weight_hh": np.einsum("tbh,tbj->hj", deltas, hs[:-1]),  # (H, H): Σ_t δ_t h_{t−1}ᵀ
        "bias_ih": bias,
        "bias_hh": bias.copy(),  # the same sum: both biases enter a_t alike
    }

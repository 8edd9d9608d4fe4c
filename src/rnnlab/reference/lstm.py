"""LSTM over a whole sequence, forward and backward through time, in NumPy.

Symbols: T steps, B sequences in the batch, H_in input features, H cells; for one sequence,
x_t (H_in) is the input at step t = 1 … T, h_t (H) the output and c_t (H) the cell state,
h_0 and c_0 given; σ is the logistic function.  Forward (Hochreiter & Schmidhuber 1997,
with the forget gate f of Gers, Schmidhuber & Cummins 2000), gate order i, f, g, o:

    z_t = W_ih x_t + b_ih + W_hh h_{t−1} + b_hh          (4H): z_i, z_f, z_g, z_o
    i_t = σ(z_i)    f_t = σ(z_f)    g_t = tanh(z_g)    o_t = σ(z_o)
    c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t
    h_t = o_t ⊙ tanh(c_t)

The loss L reads the outputs h_1 … h_T, and possibly the final state (h_T, c_T); write
g^h_t = ∂L/∂h_t for the part that comes from above at step t (``dhs[t]``, plus ``dh_final``
at t = T) and g^c_T = ``dc_final``.  Backpropagation through time (Werbos 1990), from t = T
down to 1, with δ_t = ∂L/∂z_t:

    ∂L/∂h_t = g^h_t + W_hhᵀ δ_{t+1}                       (no second term at t = T)
    ∂L/∂c_t = ∂L/∂h_t ⊙ o_t ⊙ (1 − tanh²(c_t)) + f_{t+1} ⊙ ∂L/∂c_{t+1}    (g^c_T at t = T)
    δ_t = [∂L/∂c_t ⊙ g_t ⊙ i_t(1 − i_t),           i
           ∂L/∂c_t ⊙ c_{t−1} ⊙ f_t(1 − f_t),       f
           ∂L/∂c_t ⊙ i_t ⊙ (1 − g_t²),             g
           ∂L/∂h_t ⊙ tanh(c_t) ⊙ o_t(1 − o_t)]     o

and then, as for the Elman network, sums over the steps:

    ∂L/∂W_ih = Σ_t δ_t x_tᵀ      ∂L/∂W_hh = Σ_t δ_t h_{t−1}ᵀ      ∂L/∂b_ih = ∂L/∂b_hh = Σ_t δ_t
    ∂L/∂x_t  = W_ihᵀ δ_t         ∂L/∂h_0  = W_hhᵀ δ_1             ∂L/∂c_0  = f_1 ⊙ ∂L/∂c_1

The second line is the constant error carousel: along the cell state the error is only
multiplied by the forget gate, element by element, with no weight matrix and no squashing
derivative; with f = 1 (the 1997 LSTM, which had no forget gate) it flows back unchanged.

In code the batch is a leading dimension and vectors are rows (W x is ``x @ W.T``, Wᵀ δ is
``δ @ W``), and arrays count from 0 while steps count from 1: ``hs[t]`` and ``cs[t]`` are
h_t and c_t, but ``x[t]``, ``dhs[t]``, ``gates[t]``, ``deltas[t]`` belong to step t + 1.
Weights are laid out like torch.nn.LSTM and ``rnnlab.cells.LSTMCell`` without projection
(weight_ih = W_ih (4H, H_in), weight_hh = W_hh (4H, H), bias_ih = b_ih and bias_hh = b_hh
(4H,), rows in gate order i, f, g, o), so a cell's ``named_parameters()`` can be passed as
they are.  The forward pass keeps h_0 … h_T, c_0 … c_T and the gates' values (i, f, g, o)
for the backward pass; both cost O(T·B·H·(H_in + H)).

Where this departs from the papers: Hochreiter & Schmidhuber (1997) had no forget gate
(f = 1) and squashed the cell input and output with scaled logistic functions where tanh
is used here, and their learning rule truncated the gradient: error reaching a cell's
input or gates was not carried further back in time, only along the carousel.  Here the
gradient is the full BPTT one (as first used for the LSTM by Graves & Schmidhuber 2005),
with the forget gate and without the peephole connections of Gers & Schmidhuber (2000),
the form of torch.nn.LSTM; torch.nn's two bias vectors are kept, where one would do.

References: Hochreiter & Schmidhuber (1997), "Long short-term memory", Neural Computation
9(8); Gers, Schmidhuber & Cummins (2000), "Learning to forget: continual prediction with
LSTM", Neural Computation 12(10); Werbos (1990), "Backpropagation through time: what it does
and how to do it", Proc. IEEE 78(10); Graves & Schmidhuber (2005), "Framewise phoneme
classification with bidirectional LSTM and other neural network architectures", Neural
Networks 18.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .checks import check_shapes


def sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1 / (1 + e^−z), computed as (1 + tanh(z/2)) / 2: the same function, with no overflow of e^−z."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


class LSTMCache(NamedTuple):
    """What the backward pass needs from the forward pass."""

    x: np.ndarray  # (T, B, H_in)
    hs: np.ndarray  # (T + 1, B, H): h_0 … h_T
    cs: np.ndarray  # (T + 1, B, H): c_0 … c_T
    gates: np.ndarray  # (T, B, 4H): i_t, f_t, g_t, o_t side by side
    weight_ih: np.ndarray  # (4H, H_in)
    weight_hh: np.ndarray  # (4H, H)


def lstm_forward(x: np.ndarray, h0: np.ndarray, c0: np.ndarray, weight_ih: np.ndarray, weight_hh: np.ndarray,
                 bias_ih: np.ndarray, bias_hh: np.ndarray) -> tuple[np.ndarray, np.ndarray, LSTMCache]:
    """x (T, B, H_in), h0 and c0 (B, H) -> hs (T, B, H), h_1 … h_T; c_T (B, H); and the cache.

    The final state is (hs[-1], c_T), as torch.nn.LSTM's (h_n, c_n)."""
    size = check_shapes("lstm_forward", x=(x, "T B H_in"), h0=(h0, "B H"), c0=(c0, "B H"),
                        weight_ih=(weight_ih, "4H H_in"), weight_hh=(weight_hh, "4H H"), bias_ih=(bias_ih, "4H"),
                        bias_hh=(bias_hh, "4H"))
    T, B, H = size["T"], size["B"], size["H"]
    dtype = np.result_type(x, h0, c0, weight_ih, weight_hh)
    hs = np.empty((T + 1, B, H), dtype=dtype)  # h_0 … h_T
    cs = np.empty((T + 1, B, H), dtype=dtype)  # c_0 … c_T
    gates = np.empty((T, B, 4 * H), dtype=dtype)  # i, f, g, o at steps 1 … T
    hs[0], cs[0] = h0, c0
    input_terms = x @ weight_ih.T + bias_ih + bias_hh  # (T, B, 4H): W_ih x_t + b_ih + b_hh, all steps at once
    for t in range(T):  # h_{t+1}, c_{t+1} from h_t, c_t and x_{t+1}
        z_i, z_f, z_g, z_o = np.split(input_terms[t] + hs[t] @ weight_hh.T, 4, axis=-1)  # each (B, H)
        i, f, g, o = sigmoid(z_i), sigmoid(z_f), np.tanh(z_g), sigmoid(z_o)
        cs[t + 1] = f * cs[t] + i * g
        hs[t + 1] = o * np.tanh(cs[t + 1])
        gates[t] = np.concatenate([i, f, g, o], axis=-1)
    return hs[1:], cs[-1], LSTMCache(x, hs, cs, gates, weight_ih, weight_hh)


def lstm_backward(dhs: np.ndarray, cache: LSTMCache, dh_final: np.ndarray | None = None,
                  dc_final: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Gradients of L by BPTT, keyed like lstm_forward's arguments: x, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh.

    dhs (T, B, H): ∂L/∂h_t from above at every step (zeros where L does not read h_t).
    dh_final, dc_final (B, H) or None: ∂L/∂h_T and ∂L/∂c_T through the final state, when L
    reads it (h_T apart from dhs[-1]).
    """
    x, hs, cs, gates, weight_ih, weight_hh = cache
    check_shapes("lstm_backward", hs=(hs[1:], "T B H"), dhs=(dhs, "T B H"), dh_final=(dh_final, "B H"),
                 dc_final=(dc_final, "B H"))
    deltas = np.empty_like(gates)  # (T, B, 4H): δ_t = ∂L/∂z_t
    # ∂L/∂h_t and ∂L/∂c_t through what comes after step t (step t + 1, or the final state at t = T).
    dh_next = np.zeros_like(hs[0]) if dh_final is None else dh_final  # (B, H): W_hhᵀ δ_{t+1}
    dc_next = np.zeros_like(cs[0]) if dc_final is None else dc_final  # (B, H): f_{t+1} ⊙ ∂L/∂c_{t+1}
    for t in reversed(range(len(gates))):  # δ_{t+1} from h_{t+1}, c_{t+1}
        i, f, g, o = np.split(gates[t], 4, axis=-1)  # each (B, H)
        tanh_c = np.tanh(cs[t + 1])
        dh = dhs[t] + dh_next  # ∂L/∂h_{t+1}
        dc = dh * o * (1.0 - tanh_c**2) + dc_next  # ∂L/∂c_{t+1}
        deltas[t] = np.concatenate([dc * g * i * (1.0 - i),  # ∂L/∂z_i
                                    dc * cs[t] * f * (1.0 - f),  # ∂L/∂z_f
                                    dc * i * (1.0 - g**2),  # ∂L/∂z_g
                                    dh * tanh_c * o * (1.0 - o)], axis=-1)  # ∂L/∂z_o
        dh_next = deltas[t] @ weight_hh  # W_hhᵀ δ, for the step before
        dc_next = f * dc  # the carousel: back through c_{t+1} = f ⊙ c_t + i ⊙ g
    bias = deltas.sum(axis=(0, 1))  # Σ_t δ_t, summed over the batch too
    return {
        "x": deltas @ weight_ih,  # (T, B, H_in): W_ihᵀ δ_t
        "h0": dh_next,  # (B, H): W_hhᵀ δ_1
        "c0": dc_next,  # (B, H): f_1 ⊙ ∂L/∂c_1
        "weight_ih": np.einsum("tbk,tbi->ki", deltas, x),  # (4H, H_in): Σ_t δ_t x_tᵀ
        "weight_hh": np.einsum("tbk,tbj->kj", deltas, hs[:-1]),  # (4H, H): Σ_t δ_t h_{t−1}ᵀ
        "bias_ih": bias,
        "bias_hh": bias.copy(),  # the same sum: both biases enter z_t alike
    }

"""Addressing, reading and writing of the Neural Turing Machine, as small pure functions.

Graves, Wayne & Danihelka (2014), "Neural Turing Machines", arXiv:1410.5401, §3.
Each head h produces a weighting w_t over the N memory slots (Figure 2):

    content      w^c_t = softmax_i(β_t K[k_t, M_t(i)])            eqs. 5-6
    interpolate  w^g_t = g_t w^c_t + (1 − g_t) w_{t−1}             eq. 7
    shift        w̃_t(i) = Σ_j w^g_t(j) s_t(i − j mod N)            eq. 8
    sharpen      w_t(i) = w̃_t(i)^γ_t / Σ_j w̃_t(j)^γ_t              eq. 9

and the memory is read and written through these weightings:

    read         r_t = Σ_i w_t(i) M_t(i)                             eq. 2
    erase        M̃_t(i) = M_{t−1}(i) ⊙ (1 − w_t(i) e_t)             eq. 3
    add          M_t(i) = M̃_t(i) + w_t(i) a_t                        eq. 4

Shapes: B batch, H heads, N memory slots ("N" in the paper), M memory width ("M"
in the paper), S = 2s + 1 allowed shifts −s … +s.  Every function is batched over
B and over the heads; none loops over either in Python.
"""

from __future__ import annotations

import torch
from torch import Tensor

NORM_EPSILON = 1e-6
"""Added under the square root of every norm in the cosine similarity (eq. 6):
‖u‖ = sqrt(Σ u_i² + ε).  It keeps K finite, and its gradient finite, for a zero key
or a zero memory row (memory starts at 1e-6 everywhere, rows can be erased to 0)."""

WEIGHT_FLOOR = 1e-20
"""Weights are clamped to at least this before the logarithm of ``sharpen``, so that
a weight of exactly 0 (a one-hot focus, an underflowed shift) gives a finite log."""


def cosine_similarity(memory: Tensor, key: Tensor) -> Tensor:
    """K[k, M(i)] = k · M(i) / (‖k‖ ‖M(i)‖) (eq. 6), with ‖·‖ = sqrt(Σ ·² + NORM_EPSILON).

    memory (B, N, M), key (B, H, M) -> (B, H, N).
    """
    dot = torch.bmm(key, memory.transpose(1, 2))  # (B, H, N)
    key_norm = (key * key).sum(-1, keepdim=True).add_(NORM_EPSILON).sqrt_()  # (B, H, 1)
    memory_norm = (memory * memory).sum(-1).add_(NORM_EPSILON).sqrt_().unsqueeze(1)  # (B, 1, N)
    return dot / (key_norm * memory_norm)


def content_weights(memory: Tensor, key: Tensor, key_strength: Tensor) -> Tensor:
    """Focus by content: w^c(i) = softmax_i(β K[k, M(i)]) (eqs. 5-6).

    memory: M_t (B, N, M).
    key: k_t (B, H, M), one key per head.
    key_strength: β_t (B, H, 1) >= 0; β = 0 gives the uniform weighting, a large β
        focuses on the most similar slot.
    Returns w^c_t (B, H, N); each row sums to 1.
    """
    return torch.softmax(key_strength * cosine_similarity(memory, key), dim=-1)


def interpolate(content: Tensor, previous: Tensor, gate: Tensor) -> Tensor:
    """w^g = g w^c + (1 − g) w_{t−1} (eq. 7): g = 1 takes the content weighting, g = 0 keeps the last one.

    content: w^c_t (B, H, N).  previous: w_{t−1} (B, H, N).  gate: g_t (B, H, 1) in [0, 1].
    Returns w^g_t (B, H, N).
    """
    return torch.lerp(previous, content, gate)


def shift(weights: Tensor, shift_weights: Tensor) -> Tensor:
    """Rotation by a circular convolution: w̃(i) = Σ_{k=−s}^{s} s(k) w^g((i − k) mod N) (eq. 8).

    weights: w^g_t (B, H, N).
    shift_weights: s_t (B, H, 2s + 1), a distribution over the shifts −s, …, 0, …, +s
        in this order; all its mass on +1 moves the focus from slot i to slot i + 1, and
        from the last slot to the first.
    Returns w̃_t (B, H, N).  Shifts wider than N wrap around more than once.

    Computed as Σ_k s(k) · roll(w^g, k): a loop over the 2s + 1 shifts, each a whole-batch
    rotation.  On CPU this is faster, forward and backward, than a gather of all the
    rotations, an unfold of a circularly padded copy, or a grouped conv1d.
    """
    width = shift_weights.shape[-1]
    if width % 2 != 1:
        raise ValueError(f"shift_weights must have an odd last dimension 2s + 1; got {width}")
    s = width // 2
    out = weights * shift_weights[..., s : s + 1]  # k = 0
    for k in range(1, s + 1):
        out = out + shift_weights[..., s + k : s + k + 1] * weights.roll(k, dims=-1)  # w((i − k) mod N)
        out = out + shift_weights[..., s - k : s - k + 1] * weights.roll(-k, dims=-1)  # w((i + k) mod N)
    return out


def sharpen(weights: Tensor, gamma: Tensor) -> Tensor:
    """w(i) = w̃(i)^γ / Σ_j w̃(j)^γ (eq. 9), computed as softmax(γ · log w̃) so that float32 does not
    underflow; w̃ is clamped to WEIGHT_FLOOR before the log, so zeros give no NaN.

    weights: w̃_t (B, H, N) >= 0.  gamma: γ_t (B, H, 1) >= 1.
    Returns w_t (B, H, N); γ = 1 returns w̃ normalised, a one-hot w̃ stays one-hot.
    """
    return torch.softmax(gamma * weights.clamp_min(WEIGHT_FLOOR).log(), dim=-1)


def address(memory: Tensor, previous: Tensor, key: Tensor, key_strength: Tensor, gate: Tensor,
            shift_weights: Tensor, gamma: Tensor) -> Tensor:
    """The whole addressing mechanism of Figure 2: content, interpolation, shift, sharpening.

    memory: M_t (B, N, M).  previous: w_{t−1} (B, H, N).  key: k_t (B, H, M).
    key_strength: β_t (B, H, 1).  gate: g_t (B, H, 1).  shift_weights: s_t (B, H, 2s + 1).
    gamma: γ_t (B, H, 1).
    Returns w_t (B, H, N).
    """
    weights = content_weights(memory, key, key_strength)
    weights = interpolate(weights, previous, gate)
    weights = shift(weights, shift_weights)
    return sharpen(weights, gamma)


def read(memory: Tensor, weights: Tensor) -> Tensor:
    """r = Σ_i w(i) M(i) (eq. 2), for every read head at once.

    memory: M (B, N, M).  weights: w^r (B, R, N), R read heads.
    Returns r (B, R, M).
    """
    return torch.bmm(weights, memory)


def write(memory: Tensor, weights: Tensor, erase: Tensor, add: Tensor) -> Tensor:
    """Erase then add (eqs. 3-4), every write head of the step together.

    memory: M_{t−1} (B, N, M).
    weights: w^w_t (B, W, N), W write heads.
    erase: e_t (B, W, M) in [0, 1].  add: a_t (B, W, M).
    Returns M_t (B, N, M) = M_{t−1} ⊙ Π_h (1 − w_h e_hᵀ) + Σ_h w_h a_hᵀ.

    Several heads: §3.2 notes that the erasures of several heads may be applied in any
    order (multiplication commutes), and so may their additions, but not how the two
    interleave.  We apply all erasures first, then all additions, so that no head's
    addition is erased by another head in the same step and the result does not
    depend on the order of the heads.
    With one head this is exactly eqs. 3-4, computed as M + w (a − e ⊙ M).
    """
    if weights.shape[1] == 1:
        w = weights.squeeze(1).unsqueeze(-1)  # (B, N, 1)
        return torch.addcmul(memory, w, add - erase * memory)  # a, e broadcast over the N slots
    keep = (1 - weights.unsqueeze(-1) * erase.unsqueeze(-2)).prod(dim=1)  # (B, W, N, M) -> (B, N, M)
    return torch.baddbmm(memory * keep, weights.transpose(1, 2), add)  # + (B, N, W) @ (B, W, M)

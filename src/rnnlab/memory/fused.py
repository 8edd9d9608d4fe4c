"""One autograd node per step for the heads, the addressing, the read and the write, with a hand-written backward.

The same computation as heads.py (activations) followed by addressing.py (``address``, ``read``,
``write``), for all H = R + W heads at once (Graves et al. 2014, §3; the symbols of addressing.py):

    z = clip(W_p c_t + b_p)                     the heads' linear outputs, clipped to ±clip
    k = tanh z_k   β = softplus z_β   g = σ(z_g)   s = softmax z_s   γ = 1 + softplus z_γ
    e = σ(z_e)     a = tanh z_a                                                 heads.py
    K_i = k · M(i) / (‖k‖ ‖M(i)‖)      ‖u‖ = sqrt(Σ u² + ε)                          eq. 6
    w^c = softmax(β K)                                                              eq. 5
    w^g = w_{t−1} + g (w^c − w_{t−1})                                               eq. 7
    w̃(i) = Σ_{k=−s}^{s} s(k) w^g((i − k) mod N)                                     eq. 8
    w = softmax(γ log max(w̃, WEIGHT_FLOOR))                                         eq. 9
    r = w^r M_{t−1}                                                                 eq. 2
    M_t = M_{t−1} ⊙ Π_h (1 − w_h e_hᵀ) + Σ_h w_h a_hᵀ         (W = 1: M + w (a − e ⊙ M))   eqs. 3-4

Why: autograd records this step as about 60 nodes, a third of them touching the whole memory
(B × N × M) in the backward pass (products with the memory, the row norms' backward, the
write's three products, the accumulation of the memory's gradient from its four uses, the
clip).  On the paper's sizes (memory 128 × 20, batch 32) the step was dominated by that
per-node cost and those passes over the memory.  Here the forward is the same sequence of
operations (the shift's sums in place; values equal to the autograd path's to about 1e-15 in
float64, see the tests), and the backward is one
node whose passes over the memory are: the write's two (dM' ⊙ M and dM' ⊙ (1 − w eᵀ)), one
product for the read's and the content's gradients together ([w^r | ∂K/∂dot]ᵀ [∂r | k]),
one for the row norms, and the clip in place.

Backward, with d· = ∂L/∂· (a sum over the uses of each quantity):

    write (W = 1)  dM  = dM' ⊙ (1 − w eᵀ)      dw += (dM' a − (dM' ⊙ M) e)      da = wᵀ dM'     de = −wᵀ (dM' ⊙ M)
    write (W > 1)  dM  = dM' ⊙ Π_h keep_h       d keep_h = (dM' ⊙ M) ⊙ Π_{j≠h} keep_j (prefix and suffix products)
    read           dw^r += dr Mᵀ                dM += w^rᵀ dr
    sharpen        dℓ = softmax′(dw)           dγ = Σ_i dℓ log w̃      dw̃ = γ dℓ / w̃  (0 where w̃ < WEIGHT_FLOOR)
    shift          dw^g(j) = Σ_k s(k) dw̃((j + k) mod N)     ds(k) = Σ_i dw̃(i) w^g((i − k) mod N)
    interpolate    dw^c = g dw^g    dw_{t−1} = (1 − g) dw^g    dg = Σ_i dw^g (w^c − w_{t−1})
    content        dz = softmax′(dw^c)    dβ = Σ_i dz K    ddot = β dz / (‖k‖‖M‖)    q = ddot ⊙ K
                   d‖k‖ = −q ‖M‖    d‖M(i)‖ = −Σ_h q ‖k‖    dk = ddot M + d‖k‖ k / ‖k‖
                   dM += ddotᵀ k + (d‖M‖ / ‖M‖) ⊙ M
    activations    tanh′, softplus′ (torch's threshold of 20), σ′, softmax′; zero outside the clip

Gradient clip (gradients.py, ntm.py's ``gradient_clip``): the gradients returned for M_{t−1},
w_{t−1} and the linear outputs are clamped elementwise to ±bound, which is exactly what the
autograd path's clip nodes do (those three enter the step here and nowhere else).

Saved for backward: M_{t−1} (the previous step's output, kept anyway), the linear outputs, and
the small per-head tensors k, β, g, s, γ, e, a, ‖k‖, ‖M‖, K, w^c, w^g, w̃, log w̃ and w (for W > 1,
also the W erase factors, B × W × N × M).

Cost, the node alone at the paper's sizes (B = 32, N = 128, M = 20, one read and one write head,
float32, one thread, a machine shared with other jobs): forward 205-270 µs, forward and backward
570-720 µs, against 1,200-1,470 µs for the same computation through autograd.  About 55 operations
forward and 70 backward, most of them a few µs of fixed cost each.

Not used: ``torch.compile`` of forward_step and backward_step (inductor, CPU) fuses the elementwise
passes: the node took 315 µs against 573, a training step of the paper's NTM 33 ms against 44, but
compiling took 34-43 s per process and shape, every new batch size compiles again, and the tests'
tiny float64 models would each pay it; eager stays the default.

Checked: ``torch.autograd.gradcheck`` in float64 of the node alone (every input, with and without
the clips, one and several write heads, shift ranges 0-2; fast mode in the suite, the full check
passed when written), and the whole NTM's values and gradients against the autograd path
(tests/memory/test_fused.py).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable

from .addressing import NORM_EPSILON, WEIGHT_FLOOR

_sigmoid_backward = torch.ops.aten.sigmoid_backward  # (grad, σ(x)) -> grad ⊙ σ(x)(1 − σ(x))
_tanh_backward = torch.ops.aten.tanh_backward  # (grad, tanh(x)) -> grad ⊙ (1 − tanh(x)²)
_softplus_backward = torch.ops.aten.softplus_backward  # (grad, x, β, threshold), torch's own
_softmax_backward = torch.ops.aten._softmax_backward_data  # (grad, y, dim, dtype) -> y ⊙ (grad − Σ grad ⊙ y)
SOFTPLUS_THRESHOLD = 20  # F.softplus's default: softplus(x) = x above it


def _padded(weights: Tensor, s: int) -> Tensor:
    """(…, N) -> (…, N + 2s), circularly padded: column s − k + i holds weights((i − k) mod N) for |k| <= s."""
    return torch.cat([weights[..., weights.shape[-1] - s :], weights, weights[..., :s]], dim=-1) if s else weights


def _shift(weights: Tensor, shifts: Tensor, s: int) -> Tensor:
    """Σ_k s(k) weights((i − k) mod N) (eq. 8), weights (B, H, N), shifts (B, H, 2s + 1) over −s … +s."""
    N = weights.shape[-1]
    padded = _padded(weights, s)
    out = weights * shifts[..., s : s + 1]
    for k in range(1, s + 1):
        out.addcmul_(padded[..., s - k : s - k + N], shifts[..., s + k : s + k + 1])  # w((i − k) mod N)
        out.addcmul_(padded[..., s + k : s + k + N], shifts[..., s - k : s - k + 1])  # w((i + k) mod N)
    return out


def forward_step(memory: Tensor, previous: Tensor, raw: Tensor, sizes: tuple[int, int, int, int],
                 clip: float | None) -> tuple[Tensor, Tensor, Tensor, tuple]:
    """The step's values (HeadsStep): (w_t, r_t, M_t, what ``backward_step`` needs)."""
    R, W, M, s = sizes
    H, S, B = R + W, 2 * s + 1, raw.shape[0]
    z = raw if clip is None else raw.clamp(-clip, clip)
    z_key, z_strength, z_gate, z_shift, z_gamma, z_erase, z_add = z.split((H * M, H, H, H * S, H, W * M, W * M),
                                                                          dim=-1)
    key = torch.tanh(z_key).view(B, H, M)
    strength = F.softplus(z_strength).unsqueeze(-1)  # (B, H, 1)
    gate = torch.sigmoid(z_gate).unsqueeze(-1)  # (B, H, 1)
    shifts = torch.softmax(z_shift.view(B, H, S), dim=-1)  # (B, H, S)
    gamma = 1 + F.softplus(z_gamma).unsqueeze(-1)  # (B, H, 1)
    erase = torch.sigmoid(z_erase).view(B, W, M)
    add = torch.tanh(z_add).view(B, W, M)

    # content (eqs. 5-6), as addressing.cosine_similarity and content_weights
    dot = torch.bmm(key, memory.transpose(1, 2))  # (B, H, N)
    key_norm = (key * key).sum(-1, keepdim=True).add_(NORM_EPSILON).sqrt_()  # (B, H, 1)
    memory_norm = (memory * memory).sum(-1).add_(NORM_EPSILON).sqrt_().unsqueeze(1)  # (B, 1, N)
    denominator = key_norm * memory_norm  # (B, H, N)
    similarity = dot / denominator  # K
    content = torch.softmax(strength * similarity, dim=-1)  # w^c
    gated = torch.lerp(previous, content, gate)  # w^g (eq. 7)
    shifted = _shift(gated, shifts, s)  # w̃ (eq. 8)
    log_shifted = shifted.clamp_min(WEIGHT_FLOOR).log()
    weights = torch.softmax(gamma * log_shifted, dim=-1)  # w (eq. 9)
    read_weights, write_weights = weights.split((R, W), dim=1)

    reads = torch.bmm(read_weights, memory)  # (B, R, M), from M_{t−1}
    keep = None
    if W == 1:
        w = write_weights.transpose(1, 2)  # (B, N, 1)
        new_memory = torch.addcmul(memory, w, torch.addcmul(add, erase, memory, value=-1))  # M + w (a − e ⊙ M)
    else:
        keep = 1 - write_weights.unsqueeze(-1) * erase.unsqueeze(-2)  # (B, W, N, M)
        new_memory = torch.baddbmm(memory * keep.prod(dim=1), write_weights.transpose(1, 2), add)
    saved = (memory, previous, raw, key, strength, gate, shifts, gamma, erase, add, key_norm, memory_norm,
             denominator, similarity, content, gated, shifted, log_shifted, weights, keep)
    return weights, reads, new_memory, saved


def backward_step(saved: tuple, d_weights: Tensor, d_reads: Tensor, d_new: Tensor, sizes: tuple[int, int, int, int],
                  clip: float | None, bound: float | None, memory_grad: bool = True):
    """The step's gradients (HeadsStep): (∂L/∂M_{t−1} or None, ∂L/∂w_{t−1}, ∂L/∂raw), clipped to ±bound."""
    (memory, previous, raw, key, strength, gate, shifts, gamma, erase, add, key_norm, memory_norm, denominator,
     similarity, content, gated, shifted, log_shifted, weights, keep) = saved
    R, W, M, s = sizes
    H, B, N = R + W, raw.shape[0], memory.shape[1]
    dtype = raw.dtype
    read_weights, write_weights = weights.split((R, W), dim=1)

    # write (eqs. 3-4) and read (eq. 2): the weightings' gradients, and dM from the write
    masked = d_new * memory  # dM' ⊙ M (B, N, M)
    d_write = torch.bmm(add, d_new.transpose(1, 2))  # (B, W, N): dM' a, the add term
    d_add = torch.bmm(write_weights, d_new)  # (B, W, M)
    if W == 1:
        d_write = d_write.baddbmm_(erase, masked.transpose(1, 2), alpha=-1)  # − (dM' ⊙ M) e
        d_erase = torch.bmm(write_weights, masked).neg_()  # (B, 1, M)
        d_memory = torch.addcmul(d_new, write_weights.transpose(1, 2), d_new * erase, value=-1)
    else:
        ones = torch.ones_like(keep[:, :1])
        before = torch.cat([ones, keep[:, :-1]], dim=1).cumprod(dim=1)  # Π_{j<h} keep_j (B, W, N, M)
        after = torch.cat([keep[:, 1:], ones], dim=1).flip(1).cumprod(dim=1).flip(1)  # Π_{j>h} keep_j
        d_keep = masked.unsqueeze(1) * (before * after)  # (B, W, N, M)
        d_memory = d_new * (before[:, -1] * keep[:, -1])  # dM' ⊙ Π_h keep_h
        d_write = d_write - (d_keep * erase.unsqueeze(-2)).sum(-1)
        d_erase = -(d_keep * write_weights.unsqueeze(-1)).sum(2)  # (B, W, M)
    d_read = torch.bmm(d_reads, memory.transpose(1, 2))  # (B, R, N)
    d_weights = d_weights + torch.cat([d_read, d_write], dim=1)  # (B, H, N)

    # sharpen (eq. 9)
    d_logits = _softmax_backward(d_weights, weights, -1, dtype)
    d_gamma = (d_logits * log_shifted).sum(-1, keepdim=True)  # (B, H, 1)
    d_shifted = (d_logits * gamma).div_(shifted.clamp_min(WEIGHT_FLOOR)).masked_fill_(shifted < WEIGHT_FLOOR, 0)
    # shift (eq. 8): dw^g(j) = Σ_k s(k) dw̃((j + k) mod N), ds(k) = Σ_i dw̃(i) w^g((i − k) mod N)
    d_gated = _shift(d_shifted, shifts.flip(-1), s)
    padded = _padded(gated, s)
    d_shifts = torch.stack([(d_shifted * padded[..., s - k : s - k + N]).sum(-1) for k in range(-s, s + 1)],
                           dim=-1)  # (B, H, S)
    # interpolate (eq. 7)
    d_content = d_gated * gate
    d_previous = d_gated - d_content
    d_gate = (d_gated * (content - previous)).sum(-1, keepdim=True)  # (B, H, 1)
    # content (eqs. 5-6)
    d_z = _softmax_backward(d_content, content, -1, dtype)
    d_strength = (d_z * similarity).sum(-1, keepdim=True)  # (B, H, 1)
    d_dot = (d_z * strength).div_(denominator)  # (B, H, N)
    q = d_dot * similarity  # −∂L/∂(‖k‖ ‖M‖)
    d_key_norm = torch.bmm(q, memory_norm.transpose(1, 2)).neg_()  # (B, H, 1)
    d_memory_norm = torch.bmm(key_norm.transpose(1, 2), q).neg_()  # (B, 1, N)
    d_key = torch.baddbmm(key * (d_key_norm / key_norm), d_dot, memory)  # (B, H, M)
    if memory_grad:
        d_memory = torch.baddbmm(d_memory, torch.cat([read_weights, d_dot], dim=1).transpose(1, 2),
                                 torch.cat([d_reads, key], dim=1))  # + w^rᵀ dr + ddotᵀ k
        d_memory.addcmul_((d_memory_norm / memory_norm).transpose(1, 2), memory)  # the row norms
        if bound is not None:
            d_memory.clamp_(-bound, bound)
    else:
        d_memory = None
    if bound is not None:
        d_previous.clamp_(-bound, bound)

    # activations (heads.py), then the clip's mask
    z = raw if clip is None else raw.clamp(-clip, clip)
    _, z_strength, _, _, z_gamma, _, _ = z.split((H * M, H, H, H * shifts.shape[-1], H, W * M, W * M), dim=-1)
    d_raw = torch.cat([
        _tanh_backward(d_key, key).view(B, -1),
        _softplus_backward(d_strength.view(B, H), z_strength, 1, SOFTPLUS_THRESHOLD),
        _sigmoid_backward(d_gate, gate).view(B, H),
        _softmax_backward(d_shifts, shifts, -1, dtype).view(B, -1),
        _softplus_backward(d_gamma.view(B, H), z_gamma, 1, SOFTPLUS_THRESHOLD),
        _sigmoid_backward(d_erase, erase).view(B, -1),
        _tanh_backward(d_add, add).view(B, -1),
    ], dim=-1)  # (B, P)
    if clip is not None:
        d_raw.masked_fill_((raw < -clip) | (raw > clip), 0)
    if bound is not None:
        d_raw.clamp_(-bound, bound)
    return d_memory, d_previous, d_raw


class HeadsStep(torch.autograd.Function):
    """(weights, reads, new_memory) = HeadsStep.apply(memory, previous, raw, sizes, clip, bound).

    memory    M_{t−1} (B, N, M)
    previous  w_{t−1} (B, H, N), the R read heads' rows first
    raw       the heads' linear outputs W_p c_t + b_p (B, P), laid out as in heads.py
    sizes     (R, W, M, s): read heads, write heads, memory width, shift range
    clip      the linear outputs are clamped to ±clip before their activations; None: no clamp
    bound     the gradient clip (module docstring); None: none
    returns   w_t (B, H, N), r_t (B, R, M), M_t (B, N, M)
    """

    @staticmethod
    def forward(ctx, memory: Tensor, previous: Tensor, raw: Tensor, sizes: tuple[int, int, int, int],
                clip: float | None, bound: float | None):
        weights, reads, new_memory, saved = forward_step(memory, previous, raw, sizes, clip)
        ctx.sizes, ctx.clip, ctx.bound = sizes, clip, bound
        ctx.save_for_backward(*saved)
        return weights, reads, new_memory

    @staticmethod
    @once_differentiable  # a second derivative would need its own hand-written pass
    def backward(ctx, d_weights: Tensor, d_reads: Tensor, d_new: Tensor):
        d_memory, d_previous, d_raw = backward_step(ctx.saved_tensors, d_weights, d_reads, d_new, ctx.sizes, ctx.clip,
                                                    ctx.bound, ctx.needs_input_grad[0])
        return d_memory, d_previous, d_raw, None, None, None


def heads_step(memory: Tensor, previous: Tensor, raw: Tensor, sizes: tuple[int, int, int, int],
               clip: float | None, bound: float | None) -> tuple[Tensor, Tensor, Tensor]:
    """``HeadsStep.apply``: (w_t (B, H, N), r_t (B, R, M), M_t (B, N, M)); see HeadsStep."""
    return HeadsStep.apply(memory, previous, raw, sizes, clip, bound)


def head_adds(raw: Tensor, sizes: tuple[int, int, int, int], clip: float | None) -> Tensor:
    """The write heads' add vectors a_t (…, W, M) from the linear outputs (…, P), as HeadsStep computes them
    (for traces)."""
    _, W, M, _ = sizes
    z = raw[..., raw.shape[-1] - W * M :]
    if clip is not None:
        z = z.clamp(-clip, clip)
    return torch.tanh(z).view(*raw.shape[:-1], W, M)

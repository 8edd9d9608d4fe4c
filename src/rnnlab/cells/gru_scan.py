"""Whole-sequence kernel of the torch-form GRU with a hand-written backward pass.

The input projection of every time step, ``gx_t = W_ih x_t + b_ih``, is computed
by the caller in one matrix product (autograd differentiates it).  This function
runs only the recurrence (gate order r, z, n as in torch.nn.GRU),

    gh_t = U h_{t−1} + b_hh
    r_t = σ(gx_r + gh_r)        z_t = σ(gx_z + gh_z)        n_t = tanh(gx_n + r_t ⊙ gh_n)
    h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}

and differentiates it by hand.  The backward sweep runs over chunks of steps: for
each chunk, every factor that does not depend on the incoming gradient is
computed at once, the reverse sweep costs three tensor operations a step, and the
weight gradient takes one product for the chunk, dU += Σ_t dgh_tᵀ h_{t−1},
instead of one per step as autograd would do.  Chunks keep the temporaries small
(cache-resident and recycled by the allocator rather than fresh pages).  Checked against autograd with ``torch.autograd.gradcheck``
(float64) in tests/cells/test_scans.py.
"""

from __future__ import annotations

import torch
from torch import Tensor

_sigmoid_backward = torch.ops.aten.sigmoid_backward  # (grad, σ(x)) -> grad ⊙ σ(x)(1 − σ(x))
_tanh_backward = torch.ops.aten.tanh_backward  # (grad, tanh(x)) -> grad ⊙ (1 − tanh(x)²)


class GRUScan(torch.autograd.Function):
    """outputs = GRUScan.apply(gx, h0, weight_hh, bias_hh).

    gx        (T, B, 3H)  input projections W_ih x_t + b_ih, gate order r, z, n
    h0        (B, H)      initial state
    weight_hh (3H, H)     U above (torch's weight_hh)
    bias_hh   (3H,) or None
    returns   (T, B, H)   h_1 … h_T
    """

    @staticmethod
    def forward(ctx, gx: Tensor, h0: Tensor, weight_hh: Tensor, bias_hh: Tensor | None) -> Tensor:
        steps, batch, three_h = gx.shape
        hid = three_h // 3
        hs = gx.new_empty(steps + 1, batch, hid)  # h_0 … h_T
        hs[0] = h0
        # g[t] starts as the addend of step t's product, [gx_r + b_hr, gx_z + b_hz, b_hn], so that
        # one addmm gives the whole r, z pre-activations and U_n h + b_hn; σ then overwrites r, z.
        g = gx.new_empty(steps, batch, three_h)  # ends as [r, z, U_n h + b_hn]
        if bias_hh is None:
            g[..., : 2 * hid] = gx[..., : 2 * hid]
            g[..., 2 * hid :] = 0
        else:
            torch.add(gx[..., : 2 * hid], bias_hh[: 2 * hid], out=g[..., : 2 * hid])
            g[..., 2 * hid :] = bias_hh[2 * hid :]
        n = gx.new_empty(steps, batch, hid)  # candidate n_t
        w_t = weight_hh.t()
        # Per-step views made in a few C++ calls instead of several Python indexings a step.
        h_seq, g_seq, n_seq = hs.unbind(0), g.unbind(0), n.unbind(0)
        gx_n = gx[..., 2 * hid :].unbind(0)
        g_rz, g_r, g_z, g_n = (g[..., : 2 * hid].unbind(0), g[..., :hid].unbind(0),
                               g[..., hid : 2 * hid].unbind(0), g[..., 2 * hid :].unbind(0))
        for t in range(steps):
            g_seq[t].addmm_(h_seq[t], w_t)
            g_rz[t].sigmoid_()
            torch.addcmul(gx_n[t], g_r[t], g_n[t], out=n_seq[t]).tanh_()
            torch.lerp(n_seq[t], h_seq[t], g_z[t], out=h_seq[t + 1])  # n + z ⊙ (h − n)
        ctx.save_for_backward(weight_hh, hs, g, n)
        ctx.has_bias = bias_hh is not None
        return hs[1:]

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        weight_hh, hs, g, n_all = ctx.saved_tensors
        steps, batch, three_h = g.shape
        hid = three_h // 3
        d_gx = torch.empty_like(g)  # dL/dgx; holds dL/dgh until each chunk's weight gradient is taken
        d_weight = torch.zeros_like(weight_hh)
        d_bias = weight_hh.new_zeros(three_h) if ctx.has_bias else None
        dh = grad_out[steps - 1]  # dL/dh_t, from the output and from step t+1
        chunk = chunk_steps(batch, three_h)
        for end in range(steps, 0, -chunk):
            begin = max(0, end - chunk)
            r, z, n = g[begin:end, :, :hid], g[begin:end, :, hid : 2 * hid], n_all[begin:end]
            # fac maps dL/dh_t to dL/dgh_t, gate order r, z, n: (C, B, 3, H) for the chunk's C steps at once.
            dn_pre = _tanh_backward(1 - z, n)  # ∂h_t/∂(n pre-activation) = (1 − z)(1 − n²)
            fac = g.new_empty(end - begin, batch, 3, hid)
            _sigmoid_backward(dn_pre * g[begin:end, :, 2 * hid :], r, grad_input=fac[:, :, 0])
            _sigmoid_backward(hs[begin:end] - n, z, grad_input=fac[:, :, 1])
            torch.mul(dn_pre, r, out=fac[:, :, 2])  # gh_n enters as r ⊙ gh_n
            z_seq, fac_seq = z.unbind(0), fac.unbind(0)
            dgh_seq = d_gx[begin:end].unbind(0)
            dh_chunk = [None] * (end - begin)
            for t in range(end - 1, begin - 1, -1):
                i = t - begin
                dh_chunk[i] = dh
                torch.mul(dh.unsqueeze(1), fac_seq[i], out=dgh_seq[i].view(batch, 3, hid))
                dh = torch.addcmul(grad_out[t - 1], dh, z_seq[i]) if t > 0 else dh * z_seq[i]
                dh.addmm_(dgh_seq[i], weight_hh)
            # dU = Σ_t dgh_tᵀ h_{t−1}: one product per chunk of steps, not one per step.
            flat_dgh = d_gx[begin:end].view(-1, three_h)  # (C·B, 3H)
            d_weight.addmm_(flat_dgh.t(), hs[begin:end].reshape(-1, hid))
            if d_bias is not None:
                d_bias += flat_dgh.sum(0)
            # dL/dgx equals dL/dgh for r and z; for n it lacks the factor r.
            torch.mul(torch.stack(dh_chunk), dn_pre, out=d_gx[begin:end, :, 2 * hid :])
        return d_gx, dh, d_weight, d_bias


def chunk_steps(batch: int, width: int) -> int:
    """Steps per chunk of the backward sweep: temporaries of about 1 MiB stay in cache and
    are recycled by the allocator, while the per-chunk weight-gradient product still
    has at least 512 rows."""
    return max(1, 512 // batch, (1 << 18) // (batch * width))

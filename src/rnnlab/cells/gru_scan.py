"""Whole-sequence kernel of the torch-form GRU layer with a hand-written backward pass.

One autograd node for a whole layer and sequence (gate order r, z, n as in
torch.nn.GRU):

    gx_t = W_ih x_t + b_ih                     all steps in one product
    gh_t = U h_{t−1} + b_hh
    r_t = σ(gx_r + gh_r)        z_t = σ(gx_z + gh_z)        n_t = tanh(gx_n + r_t ⊙ gh_n)
    h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}

Forward: the buffer of input projections becomes, in place and step by step,
the buffer of activations [r, z, n] that the backward pass needs; per step, one
product for r and z (added onto their input terms), one for n, four element-wise
operations.  Saved for backward: x, h_0…h_T, [r, z, n] and U_n h + b_hn.

Backward: the reverse sweep runs over chunks of steps; for each chunk, every
factor that does not depend on the incoming gradient is computed at once (chunks
keep these temporaries small: cache-resident and recycled by the allocator
rather than fresh pages), and the sweep costs three tensor operations a step.
Then each weight gradient is one product over all steps, e.g.
dU = Σ_t dgh_tᵀ h_{t−1}, instead of one per step as autograd would do.
Checked against autograd with ``torch.autograd.gradcheck`` (float64) in
tests/cells/test_scans.py.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from .matmul import addmm_, mm, mm_out

_sigmoid_backward = torch.ops.aten.sigmoid_backward  # (grad, σ(x)) -> grad ⊙ σ(x)(1 − σ(x))
_tanh_backward = torch.ops.aten.tanh_backward  # (grad, tanh(x)) -> grad ⊙ (1 − tanh(x)²)


def chunk_steps(batch: int, width: int) -> int:
    """Steps per chunk of a backward sweep: about 1 MiB of temporaries (width floats a row), and at least
    512 rows (steps × batch) so that the bulk operations of a chunk are not dominated by call overhead."""
    return max(1, 512 // batch, (1 << 18) // (batch * width))


class GRUScan(torch.autograd.Function):
    """outputs = GRUScan.apply(x, weight_ih, bias_ih, h0, weight_hh, bias_hh).

    x         (T, B, H_in)
    weight_ih (3H, H_in), bias_ih (3H,) or None     torch's W_ih, b_ih
    h0        (B, H)
    weight_hh (3H, H), bias_hh (3H,) or None        torch's W_hh (U above), b_hh
    returns   (T, B, H)   h_1 … h_T
    """

    @staticmethod
    def forward(ctx, x: Tensor, weight_ih: Tensor, bias_ih: Tensor | None, h0: Tensor, weight_hh: Tensor,
                bias_hh: Tensor | None) -> Tensor:
        steps, batch, _ = x.shape
        three_h = weight_ih.shape[0]
        hid = three_h // 3
        # act = [gx_r + b_hr, gx_z + b_hz, gx_n] becomes [r, z, n] in place, step by step.
        flat_x = x.reshape(steps * batch, -1)  # (T·B, H_in)
        bias = None  # b_hr and b_hz join the input terms; b_hn cannot (it is multiplied by r)
        if bias_ih is not None:
            bias = torch.cat([bias_ih[: 2 * hid] + bias_hh[: 2 * hid], bias_ih[2 * hid :]])
        act = mm(flat_x, weight_ih.t(), bias)
        act = act.view(steps, batch, three_h)  # [gx_r + b_hr, gx_z + b_hz, gx_n], to become [r, z, n]
        hs = x.new_empty(steps + 1, batch, hid)  # h_0 … h_T
        hs[0] = h0
        ghn = x.new_empty(steps, batch, hid)  # U_n h + b_hn
        w_rz_t, w_n_t = weight_hh[: 2 * hid].t(), weight_hh[2 * hid :].t()
        b_hn = bias_hh[2 * hid :] if bias_hh is not None else None
        # Per-step views made in a few C++ calls instead of several Python indexings a step.
        h_seq, ghn_seq = hs.unbind(0), ghn.unbind(0)
        a_rz, a_r, a_z, a_n = (act[..., : 2 * hid].unbind(0), act[..., :hid].unbind(0),
                               act[..., hid : 2 * hid].unbind(0), act[..., 2 * hid :].unbind(0))
        for t in range(steps):
            h = h_seq[t]
            addmm_(a_rz[t], h, w_rz_t).sigmoid_()  # r, z
            mm_out(ghn_seq[t], h, w_n_t, b_hn)
            a_n[t].addcmul_(a_r[t], ghn_seq[t]).tanh_()  # n
            torch.lerp(a_n[t], h, a_z[t], out=h_seq[t + 1])  # n + z ⊙ (h − n)
        ctx.save_for_backward(x, weight_ih, weight_hh, hs, act, ghn)
        ctx.has_bias = bias_ih is not None
        return hs[1:]

    @staticmethod
    @once_differentiable  # a second derivative would need its own hand-written pass
    def backward(ctx, grad_out: Tensor):
        x, weight_ih, weight_hh, hs, act, ghn = ctx.saved_tensors
        steps, batch, three_h = act.shape
        hid = three_h // 3
        d_gx = torch.empty_like(act)  # dL/dgh, then dL/dgx once the weight gradient is taken
        d_gx_n = act.new_empty(steps, batch, hid)  # dL/dgx for n
        dh = grad_out[steps - 1]  # dL/dh_t, from the output and from step t+1
        chunk = chunk_steps(batch, three_h)
        for end in range(steps, 0, -chunk):
            begin = max(0, end - chunk)
            r, z, n = act[begin:end, :, :hid], act[begin:end, :, hid : 2 * hid], act[begin:end, :, 2 * hid :]
            # fac maps dL/dh_t to dL/dgh_t, gate order r, z, n: (C, B, 3, H) for the chunk's C steps at once.
            dn_pre = _tanh_backward(1 - z, n)  # ∂h_t/∂(n pre-activation) = (1 − z)(1 − n²)
            fac = act.new_empty(end - begin, batch, 3, hid)
            _sigmoid_backward(dn_pre * ghn[begin:end], r, grad_input=fac[:, :, 0])
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
                addmm_(dh, dgh_seq[i], weight_hh)
            d_gx_n[begin:end] = torch.stack(dh_chunk).mul_(dn_pre)  # dL/dgx_n = dL/dgh_n without the factor r
        # dU = Σ_t dgh_tᵀ h_{t−1} and db_hh: one product over all steps, not one per step.
        flat = d_gx.view(steps * batch, three_h)  # (T·B, 3H)
        d_weight = mm(flat.t(), hs[:-1].reshape(steps * batch, hid))  # (3H, H)
        d_bias = flat.sum(0) if ctx.has_bias else None
        d_gx[..., 2 * hid :] = d_gx_n  # flat is now dL/dgx: equal to dL/dgh for r and z
        dx = mm(flat, weight_ih).view_as(x) if ctx.needs_input_grad[0] else None
        d_w_ih = mm(flat.t(), x.reshape(steps * batch, -1)) if ctx.needs_input_grad[1] else None
        d_b_ih = flat.sum(0) if ctx.has_bias else None
        return dx, d_w_ih, d_b_ih, dh, d_weight, d_bias

"""Whole-sequence kernel of the GRU in Cho et al.'s v3 form, and of Dey & Salem's
gate variants, with a hand-written backward pass.

One autograd node for a whole layer and sequence (gate order z, r):

    z_t, r_t = σ(W_{z,r} x_t + U_{z,r} h_{t−1} + b_{z,r})   (each term present or not, by variant)
    ĥ_t = tanh(W_h x_t + U_h (r_t ⊙ h_{t−1}) + b_h)
    h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ ĥ_t                  (Dey & Salem 2017, eq. 1)

The variant is read from the parameter shapes: ``weight_ih`` has 3H rows when the
gates see the input (``gru_v3``) and H rows (W_h alone) otherwise; ``weight_hh``
has 3H rows when the gates see h and H rows (U_h alone, ``gru3``) otherwise;
``bias`` has 3H entries when the gates have biases, H (b_h alone, ``gru2``)
otherwise, or is None.

Forward: a buffer (T, B, 3H) of input terms [z, r, ĥ] becomes, in place and step
by step, the activations the backward pass needs.  Backward: as in gru_scan.py,
the reverse sweep runs over chunks of steps whose gradient-independent factors
are computed at once, and every weight gradient is one product over all steps.
Checked with ``gradcheck`` (float64) in tests/cells/test_scans.py.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from .gru_scan import chunk_steps
from .matmul import addmm_, mm, mm_out

_sigmoid_backward = torch.ops.aten.sigmoid_backward  # (grad, σ(x)) -> grad ⊙ σ(x)(1 − σ(x))
_tanh_backward = torch.ops.aten.tanh_backward  # (grad, tanh(x)) -> grad ⊙ (1 − tanh(x)²)


class GRUv3Scan(torch.autograd.Function):
    """outputs = GRUv3Scan.apply(x, weight_ih, bias, h0, weight_hh).

    x         (T, B, m)
    weight_ih (3H, m) rows W_z, W_r, W_h; or (H, m), W_h alone
    bias      (3H,) b_z, b_r, b_h; or (H,), b_h alone; or None
    h0        (B, H)
    weight_hh (3H, H) rows U_z, U_r, U_h; or (H, H), U_h alone
    returns   (T, B, H)   h_1 … h_T
    """

    @staticmethod
    def forward(ctx, x: Tensor, weight_ih: Tensor, bias: Tensor | None, h0: Tensor, weight_hh: Tensor) -> Tensor:
        steps, batch, _ = x.shape
        hid = h0.shape[-1]
        flat_x = x.reshape(steps * batch, -1)  # (T·B, m)
        act = x.new_empty(steps, batch, 3 * hid)  # input terms [z, r, ĥ], to become [z, r, ĥ] activations
        flat_act = act.view(steps * batch, 3 * hid)
        if weight_ih.shape[0] == 3 * hid:  # gru_v3: one product for the gates and the candidate
            mm_out(flat_act, flat_x, weight_ih.t(), bias)
        else:
            cand_bias = bias[-hid:] if bias is not None else None
            mm_out(flat_act[:, 2 * hid :], flat_x, weight_ih.t(), cand_bias)
            if bias is not None and bias.shape[0] == 3 * hid:  # gru1, gru3: gates are σ(… + b)
                act[..., : 2 * hid] = bias[: 2 * hid]
            else:  # gru2 (or a variant built with bias=False)
                act[..., : 2 * hid] = 0
        u_gates_t = weight_hh[: 2 * hid].t() if weight_hh.shape[0] == 3 * hid else None  # (H, 2H)
        u_cand_t = weight_hh[-hid:].t()  # (H, H)
        hs = x.new_empty(steps + 1, batch, hid)  # h_0 … h_T
        hs[0] = h0
        rh = x.new_empty(steps, batch, hid)  # r ⊙ h_{t−1}
        # Per-step views made in a few C++ calls instead of several Python indexings a step.
        h_seq, rh_seq = hs.unbind(0), rh.unbind(0)
        a_zr, a_z, a_r, a_c = (act[..., : 2 * hid].unbind(0), act[..., :hid].unbind(0),
                               act[..., hid : 2 * hid].unbind(0), act[..., 2 * hid :].unbind(0))
        for t in range(steps):
            h = h_seq[t]
            if u_gates_t is not None:
                addmm_(a_zr[t], h, u_gates_t)
            a_zr[t].sigmoid_()  # z, r
            torch.mul(a_r[t], h, out=rh_seq[t])
            addmm_(a_c[t], rh_seq[t], u_cand_t).tanh_()  # ĥ
            torch.lerp(h, a_c[t], a_z[t], out=h_seq[t + 1])  # h + z ⊙ (ĥ − h)
        ctx.save_for_backward(x, weight_ih, bias, weight_hh, hs, act, rh)
        return hs[1:]

    @staticmethod
    @once_differentiable  # a second derivative would need its own hand-written pass
    def backward(ctx, grad_out: Tensor):
        x, weight_ih, bias, weight_hh, hs, act, rh = ctx.saved_tensors
        steps, batch, three_h = act.shape
        hid = three_h // 3
        u_gates = weight_hh[: 2 * hid] if weight_hh.shape[0] == 3 * hid else None  # (2H, H)
        u_cand = weight_hh[-hid:]  # (H, H)
        d = torch.empty_like(act)  # dL/d(pre-activations) [z, r, ĥ] at every step
        d_rh = act.new_empty(batch, hid)
        dh = grad_out[steps - 1]  # dL/dh_t, from the output and from step t+1
        chunk = chunk_steps(batch, three_h)
        for end in range(steps, 0, -chunk):
            begin = max(0, end - chunk)
            z, r, cand, h_prev = act[begin:end, :, :hid], act[begin:end, :, hid : 2 * hid], \
                act[begin:end, :, 2 * hid :], hs[begin:end]
            # Gradient-independent factors of the chunk's steps at once: (C, B, 3, H) as [z, r, ĥ];
            # the r slot is a placeholder (r's gradient goes through U_h and is computed per step).
            fac = act.new_zeros(end - begin, batch, 3, hid)
            _sigmoid_backward(cand - h_prev, z, grad_input=fac[:, :, 0])  # ∂h_t/∂(z pre-activation)
            _tanh_backward(z, cand, grad_input=fac[:, :, 2])  # ∂h_t/∂(ĥ pre-activation) = z (1 − ĥ²)
            fac_r = _sigmoid_backward(h_prev, r)  # ∂(r ⊙ h)/∂(r pre-activation)
            keep = 1 - z  # ∂h_t/∂h_{t−1}, direct path
            keep_seq, r_seq, fac_seq, fac_r_seq = keep.unbind(0), r.unbind(0), fac.unbind(0), fac_r.unbind(0)
            d_seq, d_zr_seq = d[begin:end].unbind(0), d[begin:end, :, : 2 * hid].unbind(0)
            d_r_seq, d_c_seq = d[begin:end, :, hid : 2 * hid].unbind(0), d[begin:end, :, 2 * hid :].unbind(0)
            for t in range(end - 1, begin - 1, -1):
                i = t - begin
                torch.mul(dh.unsqueeze(1), fac_seq[i], out=d_seq[i].view(batch, 3, hid))  # dz_pre, dĥ_pre
                mm_out(d_rh, d_c_seq[i], u_cand)  # dL/d(r ⊙ h)
                torch.mul(d_rh, fac_r_seq[i], out=d_r_seq[i])  # dr_pre
                dh = torch.addcmul(grad_out[t - 1], dh, keep_seq[i]) if t > 0 else dh * keep_seq[i]
                dh.addcmul_(d_rh, r_seq[i])
                if u_gates is not None:
                    addmm_(dh, d_zr_seq[i], u_gates)
        flat = d.view(steps * batch, three_h)  # (T·B, 3H)
        flat_x = x.reshape(steps * batch, -1)  # (T·B, m)
        # Every weight gradient: one product over all steps.
        d_weight_hh = mm(flat[:, 2 * hid :].t(), rh.view(steps * batch, hid))  # dU_h (H, H)
        if u_gates is not None:
            d_weight_gates = mm(flat[:, : 2 * hid].t(), hs[:-1].reshape(steps * batch, hid))  # dU_z, dU_r (2H, H)
            d_weight_hh = torch.cat([d_weight_gates, d_weight_hh])
        d_in = flat if weight_ih.shape[0] == three_h else flat[:, 2 * hid :]  # rows that W_ih feeds
        dx = mm(d_in, weight_ih).view_as(x) if ctx.needs_input_grad[0] else None
        d_weight_ih = mm(d_in.t(), flat_x) if ctx.needs_input_grad[1] else None
        d_bias = None
        if bias is not None:
            d_bias = flat.sum(0) if bias.shape[0] == three_h else flat[:, 2 * hid :].sum(0)
        return dx, d_weight_ih, d_bias, dh, d_weight_hh

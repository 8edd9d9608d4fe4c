"""Whole-sequence kernel of the GRU in Cho et al.'s v3 form, and of Dey & Salem's
gate variants, with a hand-written backward pass.

The caller computes in one matrix product, for all steps, the input terms of the
gates ``gate_x = W_{z,r} x_t + b_{z,r}`` (or only the biases, or nothing,
depending on the variant) and of the candidate ``cand_x = W_h x_t + b_h``.  This
function runs the recurrence (gate order z, r):

    z_t, r_t = σ(gate_x_t + U_{z,r} h_{t−1})     (U_{z,r} absent in GRU3)
    ĥ_t = tanh(cand_x_t + U_h (r_t ⊙ h_{t−1}))
    h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ ĥ_t      (Dey & Salem 2017, eq. 1)

Backward, over chunks of steps as in gru_scan.py: the gradient-independent
factors of a chunk are computed at once, the reverse sweep costs a few tensor
operations a step, and each weight gradient takes one product per chunk.  Checked with ``gradcheck`` in
tests/cells/test_scans.py.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .gru_scan import chunk_steps

_sigmoid_backward = torch.ops.aten.sigmoid_backward  # (grad, σ(x)) -> grad ⊙ σ(x)(1 − σ(x))
_tanh_backward = torch.ops.aten.tanh_backward  # (grad, tanh(x)) -> grad ⊙ (1 − tanh(x)²)


class GRUv3Scan(torch.autograd.Function):
    """outputs = GRUv3Scan.apply(gate_x, cand_x, h0, weight_hh).

    gate_x    (T, B, 2H) or None   input terms of z and r (None: zero)
    cand_x    (T, B, H)            input term of the candidate ĥ
    h0        (B, H)
    weight_hh (3H, H) rows U_z, U_r, U_h; or (H, H), U_h alone (gates without a recurrent term)
    returns   (T, B, H)            h_1 … h_T
    """

    @staticmethod
    def forward(ctx, gate_x: Tensor | None, cand_x: Tensor, h0: Tensor, weight_hh: Tensor) -> Tensor:
        steps, batch, hid = cand_x.shape
        recurrent_gates = weight_hh.shape[0] == 3 * hid
        u_gates_t = weight_hh[: 2 * hid].t() if recurrent_gates else None  # (H, 2H)
        u_cand_t = weight_hh[-hid:].t()  # (H, H)
        hs = cand_x.new_empty(steps + 1, batch, hid)  # h_0 … h_T
        hs[0] = h0
        gates = cand_x.new_empty(steps, batch, 2 * hid)  # z, r after σ
        cand = cand_x.new_empty(steps, batch, hid)  # ĥ
        rh = cand_x.new_empty(steps, batch, hid)  # r ⊙ h_{t−1}
        h_seq, g_seq, c_seq, rh_seq = hs.unbind(0), gates.unbind(0), cand.unbind(0), rh.unbind(0)
        z_seq, r_seq = gates[..., :hid].unbind(0), gates[..., hid:].unbind(0)
        cx_seq = cand_x.unbind(0)
        gx_seq = gate_x.unbind(0) if gate_x is not None else None
        for t in range(steps):
            h = h_seq[t]
            if u_gates_t is None:
                g_seq[t].copy_(gx_seq[t])
            elif gx_seq is None:
                torch.mm(h, u_gates_t, out=g_seq[t])
            else:
                torch.addmm(gx_seq[t], h, u_gates_t, out=g_seq[t])
            g_seq[t].sigmoid_()
            torch.mul(r_seq[t], h, out=rh_seq[t])
            torch.addmm(cx_seq[t], rh_seq[t], u_cand_t, out=c_seq[t]).tanh_()
            torch.lerp(h, c_seq[t], z_seq[t], out=h_seq[t + 1])  # h + z ⊙ (ĥ − h)
        ctx.save_for_backward(weight_hh, hs, gates, cand, rh)
        ctx.has_gate_x = gate_x is not None
        return hs[1:]

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        weight_hh, hs, gates, cand, rh = ctx.saved_tensors
        steps, batch, hid = cand.shape
        recurrent_gates = weight_hh.shape[0] == 3 * hid
        u_gates = weight_hh[: 2 * hid] if recurrent_gates else None  # (2H, H)
        u_cand = weight_hh[-hid:]  # (H, H)
        d = cand.new_empty(steps, batch, 3 * hid)  # gradients of the pre-activations, per step [ĥ, z, r]
        d_weight = torch.zeros_like(weight_hh)  # rows U_z, U_r, U_h (or U_h alone)
        d_rh = cand.new_empty(batch, hid)
        dh = grad_out[steps - 1]  # dL/dh_t, from the output and from step t+1
        chunk = chunk_steps(batch, 3 * hid)
        for end in range(steps, 0, -chunk):
            begin = max(0, end - chunk)
            z, r = gates[begin:end, :, :hid], gates[begin:end, :, hid:]
            cand_c, h_prev = cand[begin:end], hs[begin:end]
            # Gradient-independent factors of the chunk's steps at once.
            fac = cand.new_empty(end - begin, batch, 2, hid)  # [ĥ, z]
            _tanh_backward(z, cand_c, grad_input=fac[:, :, 0])  # ∂h_t/∂(ĥ pre-activation) = z (1 − ĥ²)
            _sigmoid_backward(cand_c - h_prev, z, grad_input=fac[:, :, 1])  # ∂h_t/∂(z pre-activation)
            fac_r = _sigmoid_backward(h_prev, r)  # ∂(r ⊙ h)/∂(r pre-activation)
            keep = 1 - z  # ∂h_t/∂h_{t−1}, direct path
            keep_seq, r_seq, fac_seq, fac_r_seq = keep.unbind(0), r.unbind(0), fac.unbind(0), fac_r.unbind(0)
            d_chunk = d[begin:end]
            d_cz_seq = d_chunk[..., : 2 * hid].view(end - begin, batch, 2, hid).unbind(0)
            d_c_seq, d_zr_seq, d_r_seq = (d_chunk[..., :hid].unbind(0), d_chunk[..., hid:].unbind(0),
                                          d_chunk[..., 2 * hid :].unbind(0))
            for t in range(end - 1, begin - 1, -1):
                i = t - begin
                torch.mul(dh.unsqueeze(1), fac_seq[i], out=d_cz_seq[i])  # dĥ_pre, dz_pre
                torch.mm(d_c_seq[i], u_cand, out=d_rh)  # dL/d(r ⊙ h)
                torch.mul(d_rh, fac_r_seq[i], out=d_r_seq[i])  # dr_pre
                dh = torch.addcmul(grad_out[t - 1], dh, keep_seq[i]) if t > 0 else dh * keep_seq[i]
                dh.addcmul_(d_rh, r_seq[i])
                if u_gates is not None:
                    dh.addmm_(d_zr_seq[i], u_gates)
            # Weight gradients: one product per chunk of steps, not one per step.
            flat = d_chunk.view(-1, 3 * hid)  # (C·B, 3H)
            d_weight[-hid:].addmm_(flat[:, :hid].t(), rh[begin:end].reshape(-1, hid))
            if recurrent_gates:
                d_weight[: 2 * hid].addmm_(flat[:, hid:].t(), h_prev.reshape(-1, hid))
        d_gate_x = d[..., hid:] if ctx.has_gate_x else None
        return d_gate_x, d[..., :hid], dh, d_weight

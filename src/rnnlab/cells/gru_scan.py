"""Whole-sequence kernel of the torch-form GRU with a hand-written backward pass.

The input projection of every time step, ``gx_t = W_ih x_t + b_ih``, is computed
by the caller in one matrix product (autograd differentiates it).  This function
runs only the recurrence (gate order r, z, n as in torch.nn.GRU),

    gh_t = U h_{t−1} + b_hh
    r_t = σ(gx_r + gh_r)        z_t = σ(gx_z + gh_z)        n_t = tanh(gx_n + r_t ⊙ gh_n)
    h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}

and differentiates it by hand.  Every factor of the backward pass that does not
depend on the incoming gradient is computed for all steps at once; the reverse
sweep then costs three tensor operations a step, and the weight gradient is one
product over all steps, dU = Σ_t dgh_tᵀ h_{t−1}, instead of one per step as
autograd would do.  Checked against autograd with ``torch.autograd.gradcheck``
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
        # The addend of each step's product: gx + b_hh for r and z (their whole pre-activation
        # then comes out of one addmm), b_hh alone for n (which needs U_n h + b_hn separately).
        gh = gx.clone()  # becomes [r, z pre-activations, U_n h + b_hn]
        if bias_hh is None:
            gh[..., 2 * hid :] = 0
        else:
            gh[..., : 2 * hid] += bias_hh[: 2 * hid]
            gh[..., 2 * hid :] = bias_hh[2 * hid :]
        act = gx.new_empty(steps, batch, three_h)  # r, z, n after their nonlinearities
        w_t = weight_hh.t()
        # Per-step views made in a few C++ calls instead of several Python indexings a step.
        h_seq, gh_seq = hs.unbind(0), gh.unbind(0)
        gx_n, gh_rz, gh_n = gx[..., 2 * hid :].unbind(0), gh[..., : 2 * hid].unbind(0), gh[..., 2 * hid :].unbind(0)
        a_rz, a_r = act[..., : 2 * hid].unbind(0), act[..., :hid].unbind(0)
        a_z, a_n = act[..., hid : 2 * hid].unbind(0), act[..., 2 * hid :].unbind(0)
        for t in range(steps):
            gh_seq[t].addmm_(h_seq[t], w_t)
            torch.sigmoid(gh_rz[t], out=a_rz[t])
            torch.addcmul(gx_n[t], a_r[t], gh_n[t], out=a_n[t]).tanh_()
            torch.lerp(a_n[t], h_seq[t], a_z[t], out=h_seq[t + 1])  # n + z ⊙ (h − n)
        ctx.save_for_backward(weight_hh, hs, gh, act)
        ctx.has_bias = bias_hh is not None
        return hs[1:]

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        weight_hh, hs, gh, act = ctx.saved_tensors
        steps, batch, three_h = act.shape
        hid = three_h // 3
        r, z, n = act[..., :hid], act[..., hid : 2 * hid], act[..., 2 * hid :]
        # fac maps dL/dh_t to dL/dgh_t for all steps at once: (T, B, 3H), gate order r, z, n.
        dn_pre = _tanh_backward(1 - z, n)  # ∂h_t/∂(n pre-activation) = (1 − z)(1 − n²)
        fac = torch.empty_like(act)
        _sigmoid_backward(dn_pre * gh[..., 2 * hid :], r, grad_input=fac[..., :hid])
        _sigmoid_backward(hs[:-1] - n, z, grad_input=fac[..., hid : 2 * hid])
        torch.mul(dn_pre, r, out=fac[..., 2 * hid :])  # gh_n enters as r ⊙ gh_n

        dh = torch.empty_like(hs)  # dh[t] = dL/dh_t, from the output and from step t+1
        d_gh = torch.empty_like(gh)
        dh[steps] = grad_out[steps - 1]
        dh_seq, z_seq, g_seq = dh.unbind(0), z.unbind(0), grad_out.unbind(0)
        dgh_seq = d_gh.view(steps, batch, 3, hid).unbind(0)
        fac_seq = fac.view(steps, batch, 3, hid).unbind(0)
        dgh_flat = d_gh.unbind(0)
        for t in range(steps, 0, -1):
            torch.mul(dh_seq[t].unsqueeze(1), fac_seq[t - 1], out=dgh_seq[t - 1])
            if t > 1:
                torch.addcmul(g_seq[t - 2], dh_seq[t], z_seq[t - 1], out=dh_seq[t - 1])
            else:
                torch.mul(dh_seq[t], z_seq[t - 1], out=dh_seq[t - 1])
            dh_seq[t - 1].addmm_(dgh_flat[t - 1], weight_hh)
        flat_dgh = d_gh.view(steps * batch, three_h)  # (T·B, 3H)
        d_weight = flat_dgh.t() @ hs[:-1].reshape(steps * batch, hid)  # (3H, H): one product for all steps
        d_bias = flat_dgh.sum(0) if ctx.has_bias else None
        # dL/dgx equals dL/dgh for r and z; for n it lacks the factor r.  Reuse the buffer.
        torch.mul(dh[1:], dn_pre, out=d_gh[..., 2 * hid :])
        return d_gh, dh[0], d_weight, d_bias

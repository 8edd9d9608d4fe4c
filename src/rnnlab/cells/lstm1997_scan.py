"""Whole-sequence kernel of the 1997 LSTM (lstm1997.py) with a hand-written backward pass.

For the cell without peepholes and without gate feedback (the paper's network and Gers et al.'s
forget gate), one autograd node for a whole layer and sequence.  With K blocks of S cells
(H = K·S), net_t = a_t + W_hh h_{t−1}, a_t = W_ih x_t + b computed ahead for all steps (the
caller's one product), and rows [in (K); forget (K), when present; out (K); cell (H)]:

    y^in, y^φ, y^out, σ_c = σ(net_t)                   every row through the logistic, in place
    g = 4σ_c − 2,  g′ = 4σ_c(1 − σ_c)                  the cell input squashed to [−2, 2]
    c_t = y^φ ⊙ c_{t−1} + y^in ⊙ g                      (y^φ = 1 without the forget gate; gates repeated over S)
    h_t = y^out ⊙ (2σ(c_t) − 1)

Forward: per step one product (added onto a_t, in place) and five element-wise operations.  Saved
for backward: the activations σ(net_t) of every row, h_0 … h_T and c_0 … c_T.

Backward: every factor that does not depend on the incoming gradient is computed for all steps at
once before the reverse sweep (h(c) and y^out h′(c), g and y^in g′, the gates' slopes σ(1 − σ)); the
sweep then costs about a dozen tensor operations a step:

    dh_t = ∂L/∂h_t + dnet_{t+1} W_hh                   (the recurrent product, one a step)
    dnet_out = Σ_S(dh_t ⊙ h(c_t)) ⊙ y^out(1 − y^out)
    dc_t = ∂L/∂c_t + y^φ_{t+1} ⊙ dc_{t+1} + dh_t ⊙ y^out h′(c_t)
    dnet_c = dc_t ⊙ y^in g′          dnet_in = Σ_S(dc_t ⊙ g) ⊙ y^in(1 − y^in)
    dnet_φ = Σ_S(dc_t ⊙ c_{t−1}) ⊙ y^φ(1 − y^φ)

(Σ_S sums the cells of a block).  Then dW_hh = Σ_t dnet_tᵀ h_{t−1} is one product over all steps, and
dnet is the gradient of a_t (W_ih's and b's follow from the caller's product by autograd).  Padded
sequences need nothing here: a padded step comes after every real one of its sequence, so it changes
no real output; the caller takes each sequence's final state at its own last step.

With ``truncated`` the recurrent product of the sweep is skipped: the error reaching h_{t−1} through the
net inputs is dropped, as the 1997 learning rule prescribes, and the carousel alone carries error back.

Checked against autograd through the reference loop with ``torch.autograd.gradcheck`` (float64) in
tests/cells/test_lstm1997.py.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable


class LSTM1997Scan(torch.autograd.Function):
    """(hs, cs) = LSTM1997Scan.apply(projected, h0, c0, weight_hh, blocks, forget_gate, truncated).

    projected (T, B, G)   W_ih x_t + b for every step, rows [in; forget?; out; cell]
    h0, c0    (B, H)
    weight_hh (G, H)
    truncated bool        the 1997 rule's truncated gradient: no error through W_hh to h_{t−1} (dh_t is
                          ∂L/∂h_t alone), only the carousel carries it back (training/algorithms/lstm_truncated.py)
    returns   hs, cs (T, B, H): h_1 … h_T and c_1 … c_T
    """

    @staticmethod
    def forward(ctx, projected: Tensor, h0: Tensor, c0: Tensor, weight_hh: Tensor, blocks: int,
                forget_gate: bool, truncated: bool = False) -> tuple[Tensor, Tensor]:
        steps, batch, rows = projected.shape
        hidden = h0.shape[1]
        K, S = blocks, hidden // blocks
        act = projected.clone()  # net_t, to become σ(net_t) in place
        hs = projected.new_empty(steps + 1, batch, hidden)
        cs = projected.new_empty(steps + 1, batch, hidden)
        hs[0], cs[0] = h0, c0
        w_t = weight_hh.t()
        out_at = 2 * K if forget_gate else K
        cell_at = rows - hidden
        act_seq, h_seq, c_seq = act.unbind(0), hs.unbind(0), cs.unbind(0)
        for t in range(steps):
            a = act_seq[t].addmm_(h_seq[t], w_t).sigmoid_()  # (B, G)
            in_gate = a[:, :K].unsqueeze(-1)  # (B, K, 1)
            cell_input = a[:, cell_at:].view(batch, K, S).mul(4.0).sub_(2.0)  # g
            c_new = c_seq[t + 1].view(batch, K, S)
            if forget_gate:
                torch.mul(c_seq[t].view(batch, K, S), a[:, K:2 * K].unsqueeze(-1), out=c_new)
                c_new.addcmul_(in_gate, cell_input)
            else:
                torch.addcmul(c_seq[t].view(batch, K, S), in_gate, cell_input, out=c_new)
            squashed = torch.sigmoid(c_new).mul_(2.0).sub_(1.0)  # h(c)
            torch.mul(squashed, a[:, out_at:out_at + K].unsqueeze(-1), out=h_seq[t + 1].view(batch, K, S))
        ctx.save_for_backward(act, hs, cs, weight_hh)
        ctx.blocks, ctx.forget_gate, ctx.truncated = K, forget_gate, truncated
        return hs[1:], cs[1:]

    @staticmethod
    @once_differentiable  # a second derivative would need its own hand-written pass
    def backward(ctx, grad_h: Tensor | None, grad_c: Tensor | None):
        act, hs, cs, weight_hh = ctx.saved_tensors
        K, forget_gate = ctx.blocks, ctx.forget_gate
        steps, batch, rows = act.shape
        hidden = hs.shape[2]
        S = hidden // K
        out_at = 2 * K if forget_gate else K
        cell_at = rows - hidden
        grad_h = torch.zeros_like(hs[1:]) if grad_h is None else grad_h
        grad_c = torch.zeros_like(cs[1:]) if grad_c is None else grad_c

        def per_cell(gate: Tensor) -> Tensor:  # (T, B, K) -> (T, B, K, 1), to broadcast over a block's cells
            return gate.unsqueeze(-1)

        # factors of the sweep, for all steps at once (T, B, K, S) or (T, B, K)
        in_gate, out_gate = act[..., :K], act[..., out_at:out_at + K]
        sigma_c = act[..., cell_at:].view(steps, batch, K, S)
        cell_input = sigma_c * 4.0 - 2.0  # g
        cell_slope = per_cell(in_gate) * sigma_c * (1 - sigma_c) * 4.0  # y^in g′
        sigma_state = torch.sigmoid(cs[1:]).view(steps, batch, K, S)
        squashed = sigma_state * 2.0 - 1.0  # h(c_t)
        state_slope = per_cell(out_gate) * sigma_state * (1 - sigma_state) * 2.0  # y^out h′(c_t)
        in_slope, out_slope = in_gate * (1 - in_gate), out_gate * (1 - out_gate)
        if forget_gate:
            forget = act[..., K:2 * K]
            forget_slope, keep = forget * (1 - forget), per_cell(forget)
        dnet = torch.empty_like(act)  # (T, B, G)
        dh = torch.zeros(batch, hidden, dtype=act.dtype, device=act.device)  # from step t + 1, through W_hh
        dc = torch.zeros(batch, K, S, dtype=act.dtype, device=act.device)  # from step t + 1, through the carousel
        blocks_view = (batch, K, S)
        for t in range(steps - 1, -1, -1):
            dh_t = (grad_h[t] + dh).view(blocks_view)
            d = dnet[t]
            torch.mul((dh_t * squashed[t]).sum(-1), out_slope[t], out=d[:, out_at:out_at + K])
            dc = dc.add_(grad_c[t].view(blocks_view)).addcmul_(dh_t, state_slope[t])
            torch.mul(dc, cell_slope[t], out=d[:, cell_at:].view(blocks_view))
            torch.mul((dc * cell_input[t]).sum(-1), in_slope[t], out=d[:, :K])
            if forget_gate:
                torch.mul((dc * cs[t].view(blocks_view)).sum(-1), forget_slope[t], out=d[:, K:2 * K])
                dc = dc * keep[t]
            if not ctx.truncated:
                dh = d @ weight_hh  # (B, H)
        flat = dnet.view(steps * batch, rows)
        d_weight = flat.t() @ hs[:-1].reshape(steps * batch, hidden)  # Σ_t dnet_tᵀ h_{t−1}: one product
        return dnet, dh, dc.reshape(batch, hidden), d_weight, None, None, None

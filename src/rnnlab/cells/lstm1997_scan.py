"""Whole-sequence kernel of the 1997 LSTM (lstm1997.py) with a hand-written backward pass.

For the cell without peepholes (the paper's network, with or without the gates' activations fed back
as recurrent inputs, and Gers et al.'s forget gate), one autograd node for a whole layer and sequence.
With K blocks of S cells (H = K·S), net_t = a_t + W_hh h_{t−1}, a_t = W_ih x_t + b computed ahead for
all steps (the caller's one product), and rows [in (K); forget (K), when present; out (K); cell (H)]:

    y^in, y^φ, y^out, σ_c = σ(net_t)                   every row through the logistic, in place
    g = 4σ_c − 2,  g′ = 4σ_c(1 − σ_c)                  the cell input squashed to [−2, 2]
    c_t = y^φ ⊙ c_{t−1} + y^in ⊙ g                      (y^φ = 1 without the forget gate; gates repeated over S)
    h_t = y^out ⊙ (2σ(c_t) − 1),  or y^out ⊙ c_t with ``identity`` (h the identity, §5.2)

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

With ``identity`` h(c) = c and h′ = 1 (the paper's cell output in Experiments 2a and 2b).

With ``truncated`` the recurrent product of the sweep is skipped: the error reaching h_{t−1} through the
net inputs is dropped, as the 1997 learning rule prescribes, and the carousel alone carries error back.

Checked against autograd through the reference loop with ``torch.autograd.gradcheck`` (float64) in
tests/cells/test_lstm1997.py.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from .matmul import addmm_, mm


class LSTM1997Scan(torch.autograd.Function):
    """(hs, cs, gs) = LSTM1997Scan.apply(projected, h0, c0, gates0, weight_hh, blocks, forget_gate, truncated,
    identity).

    projected (T, B, G)   W_ih x_t + b for every step, rows [in; forget?; out; cell]; Gc = G − H gate rows
    h0, c0    (B, H)
    gates0    (B, Gc) with gate feedback (the gates' activations are recurrent inputs), else an empty (B, 0)
    weight_hh (G, R)      R = H, or H + Gc with gate feedback: the recurrent inputs are [h_{t−1}; gates_{t−1}]
    truncated bool        the 1997 rule's truncated gradient: no error through W_hh to h_{t−1} or the gates
                          (dh_t is ∂L/∂h_t alone), only the carousel carries it back (training/algorithms/
                          lstm_truncated.py)
    identity  bool        h(c) = c instead of 2σ(c) − 1
    returns   hs, cs (T, B, H): h_1 … h_T and c_1 … c_T; gs (T, B, Gc or 0): the gates' activations
    """

    @staticmethod
    def forward(ctx, projected: Tensor, h0: Tensor, c0: Tensor, gates0: Tensor, weight_hh: Tensor, blocks: int,
                forget_gate: bool, truncated: bool = False, identity: bool = False) -> tuple[Tensor, Tensor, Tensor]:
        steps, batch, rows = projected.shape
        hidden, fed = h0.shape[1], gates0.shape[1]  # fed: the gate activations fed back (0 without feedback)
        K, S = blocks, hidden // blocks
        act = projected.clone()  # net_t, to become σ(net_t) in place
        rs = projected.new_empty(steps + 1, batch, hidden + fed)  # recurrent inputs r_0 … r_T = [h; gates]
        cs = projected.new_empty(steps + 1, batch, hidden)
        rs[0, :, :hidden], rs[0, :, hidden:], cs[0] = h0, gates0, c0
        w_t = weight_hh.t()
        out_at = 2 * K if forget_gate else K
        cell_at = rows - hidden
        act_seq, r_seq, c_seq = act.unbind(0), rs.unbind(0), cs.unbind(0)
        for t in range(steps):
            a = addmm_(act_seq[t], r_seq[t], w_t).sigmoid_()  # (B, G)
            in_gate = a[:, :K].unsqueeze(-1)  # (B, K, 1)
            cell_input = a[:, cell_at:].view(batch, K, S).mul(4.0).sub_(2.0)  # g
            c_new = c_seq[t + 1].view(batch, K, S)
            if forget_gate:
                torch.mul(c_seq[t].view(batch, K, S), a[:, K:2 * K].unsqueeze(-1), out=c_new)
                c_new.addcmul_(in_gate, cell_input)
            else:
                torch.addcmul(c_seq[t].view(batch, K, S), in_gate, cell_input, out=c_new)
            squashed = c_new.clone() if identity else torch.sigmoid(c_new).mul_(2.0).sub_(1.0)  # h(c)
            if fed:
                r_seq[t + 1][:, :hidden] = squashed.mul_(a[:, out_at:out_at + K].unsqueeze(-1)).view(batch, hidden)
                r_seq[t + 1][:, hidden:] = a[:, :fed]
            else:
                torch.mul(squashed, a[:, out_at:out_at + K].unsqueeze(-1), out=r_seq[t + 1].view(batch, K, S))
        ctx.save_for_backward(act, rs, cs, weight_hh)
        ctx.blocks, ctx.forget_gate, ctx.truncated, ctx.fed, ctx.identity = K, forget_gate, truncated, fed, identity
        if fed:
            return rs[1:, :, :hidden].contiguous(), cs[1:], rs[1:, :, hidden:].contiguous()
        return rs[1:], cs[1:], rs.new_empty(steps, batch, 0)

    @staticmethod
    @once_differentiable  # a second derivative would need its own hand-written pass
    def backward(ctx, grad_h: Tensor | None, grad_c: Tensor | None, grad_g: Tensor | None):
        act, rs, cs, weight_hh = ctx.saved_tensors
        K, forget_gate, fed = ctx.blocks, ctx.forget_gate, ctx.fed
        steps, batch, rows = act.shape
        hidden = cs.shape[2]
        S = hidden // K
        out_at = 2 * K if forget_gate else K
        cell_at = rows - hidden
        grad_h = torch.zeros_like(cs[1:]) if grad_h is None else grad_h
        grad_c = torch.zeros_like(cs[1:]) if grad_c is None else grad_c

        def per_cell(gate: Tensor) -> Tensor:  # (T, B, K) -> (T, B, K, 1), to broadcast over a block's cells
            return gate.unsqueeze(-1)

        # factors of the sweep, for all steps at once (T, B, K, S) or (T, B, K)
        in_gate, out_gate = act[..., :K], act[..., out_at:out_at + K]
        sigma_c = act[..., cell_at:].view(steps, batch, K, S)
        cell_input = sigma_c * 4.0 - 2.0  # g
        cell_slope = per_cell(in_gate) * sigma_c * (1 - sigma_c) * 4.0  # y^in g′
        if ctx.identity:
            squashed = cs[1:].view(steps, batch, K, S)  # h(c_t) = c_t
            state_slope = per_cell(out_gate).expand(steps, batch, K, S)  # y^out h′(c_t), h′ = 1
        else:
            sigma_state = torch.sigmoid(cs[1:]).view(steps, batch, K, S)
            squashed = sigma_state * 2.0 - 1.0  # h(c_t)
            state_slope = per_cell(out_gate) * sigma_state * (1 - sigma_state) * 2.0  # y^out h′(c_t)
        in_slope, out_slope = in_gate * (1 - in_gate), out_gate * (1 - out_gate)
        if forget_gate:
            forget = act[..., K:2 * K]
            forget_slope, keep = forget * (1 - forget), per_cell(forget)
        if fed:  # the error reaching a gate's activation as a recurrent input of the next step, to its net input
            gate_slope = act[..., :fed] * (1 - act[..., :fed])
            if grad_g is not None:
                gate_slope_out = grad_g * gate_slope  # from the gates' own output (the final state's gates)
        dnet = torch.empty_like(act)  # (T, B, G)
        dh = torch.zeros(batch, hidden, dtype=act.dtype, device=act.device)  # from step t + 1, through W_hh
        dg = torch.zeros(batch, fed, dtype=act.dtype, device=act.device)  # from step t + 1, through W_hh
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
            if fed:
                d[:, :fed].addcmul_(dg, gate_slope[t])
                if grad_g is not None:
                    d[:, :fed].add_(gate_slope_out[t])
            if not ctx.truncated:
                dr = mm(d, weight_hh)  # (B, R)
                dh, dg = dr[:, :hidden], dr[:, hidden:]
        flat = dnet.view(steps * batch, rows)
        d_weight = mm(flat.t(), rs[:-1].reshape(steps * batch, -1))  # Σ_t dnet_tᵀ r_{t−1}: one product
        return dnet, dh, dc.reshape(batch, hidden), dg, d_weight, None, None, None, None

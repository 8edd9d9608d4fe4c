"""A whole sequence of an NTM with a one-layer LSTM controller in one autograd node, with a hand-written backward.

The paper's NTM (Graves et al. 2014: an LSTM controller, one read and one write head) computes, at
each step t = 1 … T (ntm.py's module docstring; symbols of fused.py):

    gates_t = W_x x_t + W_r r_{t−1} + U h_{t−1} + b           b = b_ih + b_hh, torch's gate order i, f, g, o
    i, f, o = σ(gates_i, gates_f, gates_o)    g = tanh(gates_g)
    c_t = f ⊙ c_{t−1} + i ⊙ g                  h_t = o ⊙ tanh(c_t)     (rnnlab.cells' "lstm", h_t = c_t of ntm.py)
    z_t = W_p h_t + b_p                          the heads' linear outputs
    w_t, r_t, M_t = HeadsStep(M_{t−1}, w_{t−1}, z_t)                   fused.py

Forward: W_x x_t + b for every step in one matrix product before the loop (the inputs do not
depend on the memory); per step, one product for the gates ([r_{t−1} | h_{t−1}] [W_r | U]ᵀ: r
and h live side by side in one buffer), five element-wise operations, one product for z_t, then
fused.forward_step.  h, c, tanh(c), the gate activations, r, w and z of every step are written
into (T + 1)-step buffers.

Backward: one reverse sweep; per step, fused.backward_step, one product for ∂L/∂h_t from z_t,
the LSTM's element-wise backward (four gate gradients written into a (T, B, 4C) buffer), and one
product carrying ∂L/∂r_{t−1} and ∂L/∂h_{t−1} back.  Then every weight gradient is one product
over all steps, e.g. ∂L/∂U = Σ_t ∂L/∂gates_tᵀ h_{t−1}, ∂L/∂W_p = Σ_t ∂L/∂z_tᵀ h_t, instead of
one per step as autograd does.

Gradient clip (gradients.py): as the per-step path, the gradient that step t sends back to r_{t−1}
through the controller is clamped to ±bound, and those to M_{t−1}, w_{t−1} and z_t inside
fused.backward_step; the gradients arriving from the output layer and from the final state are not.

Saved for backward: the buffers above, every step's memory M_t (the values autograd would keep)
and fused.forward_step's small per-step tensors.  Autograd's per-step graph of about 25 nodes
becomes one node.

Cost (copy, batch 32, the paper's sizes, one thread, a full training step with Adam, CPU time on
the 2-core machine shared with other trainings): 39-42 ms against 54 ms with one node a step
(fused.py, the controller through autograd) and 63-71 ms through autograd alone.

Checked: values and gradients equal to the per-step autograd path in float64 (every input: x, the
initial state, every weight), with and without the clips, with lengths that end sequences at
different steps, and ``torch.autograd.gradcheck`` (tests/memory/test_fused.py).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from .fused import backward_step, forward_step

_sigmoid_backward = torch.ops.aten.sigmoid_backward.grad_input  # (grad, σ(x), *, grad_input=out)
_tanh_backward = torch.ops.aten.tanh_backward.grad_input


def _ends(last: Tensor | None, steps: int, device) -> dict[int, Tensor | None]:
    """{step t: indices (on ``device``) of the sequences whose final state is the state after step t}; {T − 1: None},
    every sequence, when last is None."""
    if last is None:
        return {steps - 1: None}
    return {int(t): (last == t).nonzero().squeeze(1).to(device) for t in last.unique()}


class LSTMControllerSequence(torch.autograd.Function):
    """outputs = LSTMControllerSequence.apply(x, memory, weights, reads, h, c, weight_ih, bias_ih, weight_hh,
    bias_hh, weight_p, bias_p, sizes, clip, bound, last).

    x         (T, B, I)
    memory    M_0 (B, N, M)       weights  w_0 (B, H, N)      reads  r_0 (B, R, M)
    h, c      the controller's h_0, c_0 (B, C)
    weight_ih (4C, I + R·M), bias_ih (4C,), weight_hh (4C, C), bias_hh (4C,)    the LSTM cell's
    weight_p  (P, C), bias_p (P,)                                                the heads' linear layer
    sizes, clip, bound   as fused.HeadsStep
    last      (B,) long: the step (0 … T − 1) after which each sequence's final memory is taken; None: T − 1
    returns   h_1…T (T, B, C), c_1…T (T, B, C), r_1…T (T, B, R, M), w_1…T (T, B, H, N), z_1…T (T, B, P) (no
              gradient: for the traces' add vectors), final memory (B, N, M)
    """

    @staticmethod
    def forward(ctx, x, memory, weights, reads, h, c, weight_ih, bias_ih, weight_hh, bias_hh, weight_p, bias_p,
                sizes, clip, bound, last):
        steps, batch, inputs = x.shape
        C = weight_hh.shape[1]
        R, W, M, _ = sizes
        H = R + W
        RM = R * M
        # [r_t | h_t] side by side (T + 1, B, R·M + C), so that one product a step multiplies both
        reads_h = x.new_empty(steps + 1, batch, RM + C)
        all_reads, hs = reads_h[..., :RM].unflatten(-1, (R, M)), reads_h[..., RM:]  # r_0 … r_T, h_0 … h_T
        cs = x.new_empty(steps + 1, batch, C)  # c_0 … c_T
        tanh_cs = x.new_empty(steps, batch, C)  # tanh(c_1) … tanh(c_T)
        all_weights = x.new_empty(steps + 1, batch, H, weights.shape[-1])  # w_0 … w_T
        raws = x.new_empty(steps, batch, weight_p.shape[0])  # z_1 … z_T
        hs[0], cs[0], all_reads[0], all_weights[0] = h, c, reads, weights
        # W_x x_t + b_ih + b_hh of every step in one product; becomes the gate activations step by step
        act = torch.addmm(bias_ih + bias_hh, x.reshape(steps * batch, inputs), weight_ih[:, :inputs].t())
        act = act.view(steps, batch, 4 * C)
        w_rh_t = torch.cat([weight_ih[:, inputs:], weight_hh], dim=1).t()  # [W_r | U]ᵀ (R·M + C, 4C)
        w_p_t = weight_p.t()
        memories, saved = [memory], []
        for t in range(steps):
            a = act[t]
            a.addmm_(reads_h[t], w_rh_t)  # gates_t = W_x x_t + b + W_r r_{t−1} + U h_{t−1}
            gate_g = a[:, 2 * C : 3 * C]
            torch.tanh(gate_g, out=gate_g)
            a[:, : 2 * C].sigmoid_()
            a[:, 3 * C :].sigmoid_()
            torch.mul(a[:, C : 2 * C], cs[t], out=cs[t + 1]).addcmul_(a[:, :C], gate_g)  # f ⊙ c + i ⊙ g
            torch.mul(a[:, 3 * C :], torch.tanh(cs[t + 1], out=tanh_cs[t]), out=hs[t + 1])  # o ⊙ tanh(c)
            torch.addmm(bias_p, hs[t + 1], w_p_t, out=raws[t])
            new_weights, new_reads, new_memory, step_saved = forward_step(memories[-1], all_weights[t], raws[t],
                                                                          sizes, clip)
            all_weights[t + 1], all_reads[t + 1] = new_weights, new_reads
            memories.append(new_memory)
            saved.append(step_saved)
        ends = _ends(last, steps, memory.device)
        if last is None:
            final = memories[-1]
        else:
            final = memory.new_empty(memories[-1].shape)
            for t, index in ends.items():
                final.index_copy_(0, index, memories[t + 1].index_select(0, index))
        ctx.mark_non_differentiable(raws)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(x, weight_ih, weight_hh, weight_p, reads_h, cs, tanh_cs, act)
        ctx.saved, ctx.ends, ctx.sizes, ctx.clip, ctx.bound = saved, ends, sizes, clip, bound
        return hs[1:], cs[1:], all_reads[1:], all_weights[1:], raws, final

    @staticmethod
    @once_differentiable  # a second derivative would need its own hand-written pass
    def backward(ctx, d_hs, d_cs, d_reads, d_weights, _d_raws, d_final):
        x, weight_ih, weight_hh, weight_p, reads_h, cs, tanh_cs, act = ctx.saved_tensors
        saved, ends, sizes, clip, bound = ctx.saved, ctx.ends, ctx.sizes, ctx.clip, ctx.bound
        steps, batch, inputs = x.shape
        C = weight_hh.shape[1]
        R, W, M, _ = sizes
        H, N, RM = R + W, saved[0][0].shape[1], R * M
        d_gates = act.new_empty(steps, batch, 4 * C)  # ∂L/∂gates_t
        d_raws = act.new_empty(steps, batch, weight_p.shape[0])  # ∂L/∂z_t
        w_rh = torch.cat([weight_ih[:, inputs:], weight_hh], dim=1)  # [W_r | U] (4C, R·M + C)
        d_h, d_c = act.new_zeros(batch, C), act.new_zeros(batch, C)  # from step t + 1's recurrence
        d_r = act.new_zeros(batch, R, M)  # to r_t from step t + 1's controller, clipped
        d_w = act.new_zeros(batch, H, N)  # to w_t from step t + 1, clipped
        d_memory = act.new_zeros(batch, N, M) if d_final is None else None  # to M_t from step t + 1, clipped
        owned = True  # whether d_memory is a tensor of this pass (not d_final), which may be added to in place
        for t in range(steps - 1, -1, -1):
            if d_final is not None and t in ends:  # the final state's gradient joins at each sequence's last step
                index = ends[t]
                if d_memory is None:
                    d_memory, owned = (d_final, False) if index is None else (
                        d_final.new_zeros(d_final.shape).index_copy_(0, index, d_final.index_select(0, index)), True)
                elif index is None:
                    d_memory = d_memory + d_final
                elif owned:
                    d_memory.index_add_(0, index, d_final.index_select(0, index))
                else:
                    d_memory = d_memory.index_add(0, index, d_final.index_select(0, index))
            if d_memory is None:
                d_memory = act.new_zeros(batch, N, M)
            if d_reads is not None:
                d_r = d_r + d_reads[t]
            if d_weights is not None:
                d_w = d_w + d_weights[t]
            memory_grad = t > 0 or ctx.needs_input_grad[1]
            d_memory, d_w, d_raw = backward_step(saved[t], d_w, d_r, d_memory, sizes, clip, bound, memory_grad)
            owned = True
            d_raws[t] = d_raw
            d_h = torch.addmm(d_h, d_raw, weight_p)  # + ∂z_t/∂h_t
            if d_hs is not None:
                d_h = d_h + d_hs[t]
            # the LSTM's step t backward: c_t = f c_{t−1} + i g, h_t = o tanh(c_t)
            a, g = act[t], d_gates[t]
            gate_i, gate_f, gate_g, gate_o = a[:, :C], a[:, C : 2 * C], a[:, 2 * C : 3 * C], a[:, 3 * C :]
            d_c = d_c + torch.ops.aten.tanh_backward(d_h * gate_o, tanh_cs[t])
            if d_cs is not None:
                d_c = d_c + d_cs[t]
            _sigmoid_backward(d_c * gate_g, gate_i, grad_input=g[:, :C])
            _sigmoid_backward(d_c * cs[t], gate_f, grad_input=g[:, C : 2 * C])
            _tanh_backward(d_c * gate_i, gate_g, grad_input=g[:, 2 * C : 3 * C])
            _sigmoid_backward(d_h * tanh_cs[t], gate_o, grad_input=g[:, 3 * C :])
            d_c = d_c * gate_f
            d_rh = g @ w_rh  # (B, R·M + C): ∂L/∂r_{t−1} and ∂L/∂h_{t−1} through the gates
            d_r, d_h = d_rh[:, :RM].view(batch, R, M), d_rh[:, RM:]
            if bound is not None:
                d_r = d_r.clamp(-bound, bound)
        # every weight gradient: one product over all steps
        flat = d_gates.view(steps * batch, 4 * C)
        d_bias = flat.sum(0)
        d_weight_x = flat.t() @ x.reshape(steps * batch, inputs)
        d_weight_rh = flat.t() @ reads_h[:steps].reshape(steps * batch, RM + C)  # [dW_r | dU]
        d_weight_ih = torch.cat([d_weight_x, d_weight_rh[:, :RM]], dim=1)
        d_weight_hh = d_weight_rh[:, RM:]
        flat_raws = d_raws.view(steps * batch, -1)
        d_weight_p = flat_raws.t() @ reads_h[1:, :, RM:].reshape(steps * batch, C)
        d_bias_p = flat_raws.sum(0)
        d_x = (flat @ weight_ih[:, :inputs]).view_as(x) if ctx.needs_input_grad[0] else None
        return (d_x, d_memory, d_w, d_r, d_h, d_c, d_weight_ih, d_bias, d_weight_hh, d_bias, d_weight_p, d_bias_p,
                None, None, None, None)

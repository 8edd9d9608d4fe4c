"""The learning rule of the 1997 LSTM: the gradient truncated so that only the constant error carousel carries
error back in time (``train.algorithm = "lstm_truncated"``, for the ``lstm1997`` cell).

Hochreiter & Schmidhuber (1997), "Long short-term memory", Neural Computation 9(8), §4 ("a variant of
RTRL") and Appendix A.1.  Errors arriving at a memory cell's or a gate's net input are not propagated
further back in time (eq. A.8: the truncated derivative ∂net(t)/∂y^u(t−1) ≈_tr 0 for the cells' and the
gates' net inputs), so the only path from step t back to step t−1 is the cell's internal state s_c, whose
self-connection is 1 (with the forget gate of Gers et al. 2000, eq. 3: y^φ(t)).  What is left can be
carried forward, per weight, like RTRL's sensitivities, but each weight reaches only the states of its own
block: with z_m the unit m's activation fed into the net inputs at step t (the input x_m(t), a recurrent
input r_m(t−1), or 1 for the bias), cell v of block j, and φ = y^φ_j(t) (1 without the forget gate),

    ∂s_c_j^v(t)/∂w_{c_j^v m} ≈_tr φ ∂s_c_j^v(t−1)/∂w_{c_j^v m} + g′(net_c_j^v(t)) y^in_j(t) z_m      (A.10)
    ∂s_c_j^v(t)/∂w_{in_j m}  ≈_tr φ ∂s_c_j^v(t−1)/∂w_{in_j m}  + g(net_c_j^v(t)) f′(net_in_j(t)) z_m  (A.11)
    ∂s_c_j^v(t)/∂w_{φ_j m}   ≈_tr φ ∂s_c_j^v(t−1)/∂w_{φ_j m}   + s_c_j^v(t−1) f′(net_φ_j(t)) z_m    (Gers 2000)

and the weight change for step t's error is e_s(t) = ∂E(t)/∂s_c(t) (the error arriving at the state from
the outputs at t through y^c = y^out h(s_c), A.9) times these, while the output gates' and the output
units' weights get only the step's own error (A.12, A.13: nothing is carried for them).

Two ways to the same gradient.  Summed over a batch (``train.online = false``, the default), it is the
gradient of backpropagation through the network with the error into h(t−1) through the net inputs cut:
the cell's ``truncated_gradient`` switch, which its whole-sequence kernel honours by skipping the
recurrent product of its backward sweep (cells/lstm1997_scan.py), so the rule costs less than full BPTT
and handles padded batches of every kind.  Applied after every step (``train.online = true``, the
paper's on-line learning), it must be carried forward in time, the paper's own way:

Forward, it is read as the sensitivity algorithms of sensitivity.py read RTRL: the loop over time, the
losses, the output weights' and each step's direct gradients (the step run once more by autograd with the
previous state held fixed) are theirs; this module carries M_t, the truncated ∂s_c(t)/∂w above, stored as
(B, H, kinds, F) per weight tensor — for each cell, the derivative of its state with respect to the row of
its cell input, of its block's input gate and (when present) of its block's forget gate, F columns — and
reads the past part of the gradient through the carousel alone:

    ∂E(t)/∂w ≈_tr [∂E(t)/∂w]_{s(t−1) fixed} + Σ_v ∂E(t)/∂s_c_v(t−1)|_carousel M_{t−1}[v, w]

where ∂E(t)/∂s_c(t−1) = e_s(t) φ(t) is exactly what autograd gives for the state field c (without
peepholes, s_c(t−1) reaches step t's error only through the carousel); the error reaching the cells'
outputs h(t−1) through the net inputs is dropped — the truncation.

Cost per step: O(B·W) — the coefficient of each cell and kind, times the F activations, for every weight
of the cells' and gates' rows; memory B·H·kinds·F, about three numbers a weight a sequence (the paper's
"O(W) per time step", which it counts for one sequence), independent of T, against BPTT's O(T) memory.

Exact, against independent references (tests/training/test_lstm_truncated.py): the two ways against each
other and against backpropagation through the network with the recurrent inputs of the net inputs
detached step by step (float64, within 1e-10), and a one-cell example written out with the paper's scalar
formulas.

Departures: the peephole connections (Gers et al. 2002) are refused (their truncation has more than one
form in the literature; train them with ``bptt``); with ``train.online = false`` (the default) the
gradient is summed over the sequence and applied once per batch; ``train.online = true`` updates after
every step with an error, as the paper's on-line learning did.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .base import Update
from .bptt import BPTT
from .sensitivity import Carried, OneStep, SensitivityAlgorithm, recurrent_layer


class LSTMTruncated(SensitivityAlgorithm):
    name = "lstm_truncated"
    forward_mode = False  # True: carry the sensitivities forward even when updating once per batch (for tests)

    def train_batch(self, batch, update: Update) -> tuple[Tensor, Tensor]:
        if self.trainer.settings.online or self.forward_mode:
            return super().train_batch(batch, update)
        cell = recurrent_layer(self.trainer.model).cells[0]
        cell.truncated_gradient = True
        try:
            return BPTT(self.trainer).train_batch(batch, update)
        finally:
            cell.truncated_gradient = False

    @classmethod
    def refusal(cls, model, task, settings) -> str | None:
        general = super().refusal(model, task, settings)
        if general is not None:
            return general
        cell = recurrent_layer(model).cells[0]
        if type(cell).__name__ != "LSTM1997Cell":
            return (f"the truncated rule of 1997 is for --model lstm1997; this model's cell is "
                    f"{type(cell).__name__} (use train.algorithm = \"bptt\")")
        if cell.peepholes:
            return "the truncated rule is not defined here for peepholes (model.options.peepholes): use bptt"
        return None

    # ---- which tensor is which ---------------------------------------------------------------------------
    @staticmethod
    def _roles(step: OneStep) -> dict[str, str]:
        """Tracked parameter name -> "ih", "hh" or "bias" (the cell's weight tensors)."""
        cell = step.cell
        roles = {}
        for name, param in step.tracked.items():
            for attr, role in (("weight_ih", "ih"), ("weight_hh", "hh"), ("bias", "bias")):
                if getattr(cell, attr, None) is param:
                    roles[name] = role
        return roles

    def start(self, step: OneStep, inputs: Tensor) -> Carried:
        cell, batch = step.cell, inputs.shape[1]
        kinds = 3 if cell.forget_gate else 2
        columns = {"ih": cell.input_size, "hh": cell.recurrent_size, "bias": 1}
        return {name: step.zeros(batch, cell.hidden_size, kinds, columns[role])
                for name, role in self._roles(step).items()}

    def advance(self, step: OneStep, carried: Carried, s_prev: Tensor, x: Tensor, generator) -> tuple[Carried, Tensor]:
        cell = step.cell
        state = cell.state_from_fields(list(torch.split(s_prev, step.sizes, dim=-1)))
        parts = cell.parts(x, state)
        S = cell.block_size
        per_cell = lambda gate: gate.repeat_interleave(S, dim=-1)  # noqa: E731  (B, K) -> (B, H)
        in_gate = per_cell(parts.in_gate)
        coefficients = [in_gate * parts.cell_input_slope,  # A.10: g′(net_c) y^in
                        parts.cell_input * in_gate * (1 - in_gate)]  # A.11: g(net_c) f′(net_in)
        keep = 1.0
        if cell.forget_gate:
            forget = per_cell(parts.forget_gate)
            coefficients.append(state.c * forget * (1 - forget))  # Gers 2000: s(t−1) f′(net_φ)
            keep = forget.unsqueeze(-1).unsqueeze(-1)  # (B, H, 1, 1)
        coefficient = torch.stack(coefficients, dim=-1)  # (B, H, kinds)
        activations = {"ih": x, "hh": cell.recurrent_inputs(state), "bias": None}  # z_m, (B, F)
        advanced = {}
        for name, role in self._roles(step).items():
            z = activations[role]
            immediate = coefficient.unsqueeze(-1) if z is None else \
                coefficient.unsqueeze(-1) * z.unsqueeze(1).unsqueeze(1)  # (B, H, kinds, F)
            advanced[name] = carried[name] * keep + immediate
        s_new = torch.cat(list(cell.state_of(parts)), dim=-1)
        return advanced, s_new

    def through_state(self, step: OneStep, carried: Carried, grad_state: Tensor) -> dict[str, Tensor]:
        cell = step.cell
        H, K, S = cell.hidden_size, cell.blocks, cell.block_size
        carousel = grad_state[:, H:2 * H]  # ∂E(t)/∂s_c(t−1) (B, H); the h part is truncated away
        gradients = {}
        for name in self._roles(step):
            per_cell = torch.einsum("bv,bvkf->vkf", carousel, carried[name])  # (H, kinds, F)
            grad = torch.zeros_like(step.tracked[name]).view(-1, per_cell.shape[-1])  # (G, F)
            grad[cell.rows("cell")] = per_cell[:, 0]
            grad[cell.rows("in")] = per_cell[:, 1].view(K, S, -1).sum(1)
            if cell.forget_gate:
                grad[cell.rows("forget")] = per_cell[:, 2].view(K, S, -1).sum(1)
            gradients[name] = grad.view_as(step.tracked[name])
        return gradients


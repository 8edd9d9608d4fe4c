"""Real-time recurrent learning (Williams & Zipser 1989): the state's sensitivity to every weight, carried forward.

For a recurrent state s_t = F(s_{t−1}, x_t; θ) (all of a cell's state fields, n numbers a sequence)
and a loss L = Σ_t L_t(s_t), Williams & Zipser (1989, §2, eqs. 3–4; "p^k_ij" there) carry forward

    M_t = ∂s_t/∂θ = J_t M_{t−1} + K_t,     J_t = ∂F/∂s_{t−1} (n × n),  K_t = ∂F/∂θ (n × P),  M_0 = 0

and obtain the gradient as the steps go, with no record of the past:

    ∂L/∂θ = Σ_t [ ∂L_t/∂θ|_{s_{t−1}} + (∂L_t/∂s_{t−1}) M_{t−1} ]

(the first term: the step's direct dependence on θ, the readout's weights included; the second: all
earlier steps, through the state).  This equals BPTT's gradient exactly (tested in float64 for every
cell).  With ``train.online = true`` the weights are updated after every step that has a loss, as
Williams & Zipser's continually running networks were (§2: "the weights are changed … at each
time step"), using the sensitivities computed with the weights of earlier steps — their
approximation, good when the learning rate is small.

Cost: memory B·n·P for the sensitivities, independent of the sequence length T; time per step of
the order of n·P (computing J_t and K_t by n reverse passes) plus n²·P (the product J_t M_{t−1}):
O(n⁴) for a fully connected net of n units, against BPTT's O(n²) per step and O(n·T) memory.

Implementation: the loop over time, the one-step function and its Jacobians (``torch.func``: per
sequence, ``vmap`` over the batch of ``jacrev`` of one step, for any cell) are sensitivity.py's, shared
with UORO and SnAp-1; this module is the exact recursion.  Inputs are float vectors: a model with a token
embedding is refused for now (its sensitivity would be n × vocabulary × width a sequence).

Departure from the paper: with ``train.online = false`` (the default) the gradient is accumulated
over the sequence and applied once per batch, like BPTT's, so that the two can be compared exactly.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .sensitivity import Carried, OneStep, SensitivityAlgorithm, recurrent_layer

__all__ = ["RTRL", "recurrent_layer"]


class RTRL(SensitivityAlgorithm):
    name = "rtrl"

    def start(self, step: OneStep, inputs: Tensor) -> Carried:
        batch_size = inputs.shape[1]
        # M_0 = 0, (B, n, P_θ) per parameter
        return {name: step.zeros(batch_size, step.n, step.tracked[name].numel()) for name in step.names}

    def advance(self, step: OneStep, carried: Carried, s_prev: Tensor, x: Tensor, generator) -> tuple[Carried, Tensor]:
        k_parts, j, s_new = step.jacobians(s_prev, x)  # K_t (B, n, *shape) per parameter, J_t (B, n, n)
        batch_size = s_prev.shape[0]
        return {name: torch.bmm(j, carried[name]) + k.reshape(batch_size, step.n, -1)  # M_t = J_t M_{t−1} + K_t
                for name, k in zip(step.names, k_parts)}, s_new

    def through_state(self, step: OneStep, carried: Carried, grad_state: Tensor) -> dict[str, Tensor]:
        return {name: torch.einsum("bn,bnp->p", grad_state, carried[name]).view_as(step.tracked[name])
                for name in step.names}

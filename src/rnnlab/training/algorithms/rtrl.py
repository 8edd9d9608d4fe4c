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
with UORO and SnAp-1; this module is the exact recursion.

Fast path, for the cells whose step is s_t = f(a_t), a_t = W_hh s_{t−1} + W_ih x_t + b (``elman_tanh``,
``elman_relu``, ``fully_recurrent``; Williams & Zipser's eqs. 3–4 as they wrote them): J_t = diag(f′(a_t)) W_hh
and K_t is zero but on the "diagonal" (∂s_{t,u}/∂w_{uj} = f′_u z_j, with z = s_{t−1} for W_hh, x_t for
W_ih, 1 for a bias), so that, per parameter,

    M_t = f′(a_t) ⊙ (W_hh M_{t−1} + E_t),      E_t[u, (u, j)] = z_j,

one batched matrix product a step and an in-place addition on a diagonal view: no ``torch.func`` call
(about 1 ms a step of overhead at small n).  f′ is read from s_t (1 − s² for tanh, s(1 − s) for the
logistic, [s > 0] for ReLU).  Equal to the general path (tested).  Inputs are float vectors: a model with a token
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
    fast_path = True  # False: the general torch.func path for every cell (for tests)

    def start(self, step: OneStep, inputs: Tensor) -> Carried:
        batch_size = inputs.shape[1]
        # M_0 = 0, (B, n, P_θ) per parameter
        return {name: step.zeros(batch_size, step.n, step.tracked[name].numel()) for name in step.names}

    def advance(self, step: OneStep, carried: Carried, s_prev: Tensor, x: Tensor, generator) -> tuple[Carried, Tensor]:
        inputs = _affine_inputs(step)
        if inputs is not None and self.fast_path:
            return _advance_affine(step, inputs, carried, s_prev, x)
        k_parts, j, s_new = step.jacobians(s_prev, x)  # K_t (B, n, *shape) per parameter, J_t (B, n, n)
        batch_size = s_prev.shape[0]
        return {name: torch.bmm(j, carried[name]) + k.reshape(batch_size, step.n, -1)  # M_t = J_t M_{t−1} + K_t
                for name, k in zip(step.names, k_parts)}, s_new

    def through_state(self, step: OneStep, carried: Carried, grad_state: Tensor) -> dict[str, Tensor]:
        return {name: torch.einsum("bn,bnp->p", grad_state, carried[name]).view_as(step.tracked[name])
                for name in step.names}


_DERIVATIVES = {  # f′ read from s = f(a)
    "tanh": lambda s: 1 - s * s,
    "logistic": lambda s: s * (1 - s),
    "relu": lambda s: (s > 0).to(s.dtype),
}


def _affine_inputs(step: OneStep) -> dict[str, str] | None:
    """For a cell whose step is s_t = f(W_hh s_{t−1} + W_ih x_t + b) (the Elman and fully recurrent cells),
    the input z_j that multiplies each tracked parameter ("state", "input" or "one", by name); else None."""
    cell = step.cell
    if type(cell).__name__ not in ("ElmanCell", "FullyRecurrentCell") or cell.nonlinearity not in _DERIVATIVES:
        return None
    roles = {"weight_hh": "state", "weight_ih": "input", "bias_ih": "one", "bias_hh": "one", "bias": "one"}
    found = {}
    for name, param in step.tracked.items():
        role = next((roles[attr] for attr in roles if getattr(cell, attr, None) is param), None)
        if role is None:
            return None
        found[name] = role
    return found


def _advance_affine(step: OneStep, roles: dict[str, str], carried: Carried, s_prev: Tensor,
                    x: Tensor) -> tuple[Carried, Tensor]:
    """M_t = f′(a_t) ⊙ (W_hh M_{t−1} + E_t) for every tracked parameter (module docstring), and s_t."""
    cell = step.cell
    _, new = cell(x, step.cell.state_from_fields(list(torch.split(s_prev, step.sizes, dim=-1))))
    s_new = torch.cat([new] if isinstance(new, Tensor) else list(new), dim=-1)  # (B, n)
    slope = _DERIVATIVES[cell.nonlinearity](s_new).unsqueeze(-1)  # (B, n, 1): f′(a_t)
    w_hh = cell.weight_hh.detach()  # (n, n)
    batch, n = s_new.shape
    advanced = {}
    for name, role in roles.items():
        m = torch.matmul(w_hh, carried[name])  # (B, n, P): W_hh M_{t−1}
        if role == "one":
            m.view(batch, n, n).diagonal(dim1=1, dim2=2).add_(1.0)  # E[u, u] = 1
        else:
            z = s_prev if role == "state" else x  # (B, c)
            m.view(batch, n, n, z.shape[1]).diagonal(dim1=1, dim2=2).add_(z.unsqueeze(-1))  # E[u, (u, j)] = z_j
        advanced[name] = m.mul_(slope)
    return advanced, s_new

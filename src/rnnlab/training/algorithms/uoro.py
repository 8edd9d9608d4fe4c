"""Unbiased online recurrent optimisation (Tallec & Ollivier 2018): a rank-one unbiased estimate of RTRL's sensitivity.

Tallec & Ollivier (2018), "Unbiased online recurrent optimization", ICLR; symbols of sensitivity.py
(s_t = F(s_{t−1}, x_t; θ), J_t = ∂F/∂s_{t−1}, K_t = ∂F/∂θ, M_t = ∂s_t/∂θ = J_t M_{t−1} + K_t).
UORO carries, for each sequence, a column s̃_t (n,) and a row θ̃_t (P,) whose product estimates M_t
without bias (§3, the rank-one trick; Algorithm 1, one step of UORO):

    ν_t   ∈ {−1, +1}ⁿ, independent uniform signs                      (E[ν] = 0, E[ννᵀ] = I)
    s̃_t   = ρ₀ J_t s̃_{t−1} + ρ₁ ν_t                                   (forward mode: one jvp)
    θ̃_t   = θ̃_{t−1} / ρ₀ + ν_tᵀ K_t / ρ₁                              (reverse mode: one vjp)
    ρ₀    = √(‖θ̃_{t−1}‖ / ‖J_t s̃_{t−1}‖),   ρ₁ = √(‖ν_tᵀ K_t‖ / ‖ν_t‖)  (the variance-minimising scalings, §3)
    s̃_0 = 0, θ̃_0 = 0,        so that   E[s̃_t θ̃_tᵀ] = M_t  for every t.

Unbiased because the cross terms (ρ₀/ρ₁) J_t s̃ ν_tᵀ K_t and (ρ₁/ρ₀) ν_t θ̃ᵀ are odd in ν_t while ρ₁ is
even in it (and ρ₀ does not depend on it), and E[ν_t ν_tᵀ K_t] = K_t; any ρ₀, ρ₁ > 0 keep the estimate
unbiased; these minimise the variance that the two cross terms add (tested: the mean over 2,000 draws is
within statistical error of the exact gradient, with these scalings or with ρ₀ = ρ₁ = 1; with one random
sign shared by all the units, E[ννᵀ] = 11ᵀ instead of I, it is not).
The gradient is read like RTRL's, with M_{t−1} replaced by its estimate:

    ∂L/∂θ ≈ Σ_t [ ∂L_t/∂θ|_{s_{t−1}} + ((∂L_t/∂s_{t−1}) · s̃_{t−1}) θ̃_{t−1} ].

Cost: memory B·(n + P) for (s̃, θ̃), independent of the sequence length T, against RTRL's B·n·P; time per
step a few times one step's (the step, one jvp, one vjp), against RTRL's n·P + n²·P: O(n²) for a net of
n units, like BPTT's.  The price is variance (Cooijmans & Martens 2019, "On the variance of unbiased online
recurrent optimization", analyse it).  Measured (one thread, B = 1, float32, elman_tanh on adding): memory
flat in T (27 KiB at n = 32 for T = 100 and 1,000; RTRL 700 KiB); time about 2–3 ms a step up to n = 64,
the ``torch.func`` transforms' own overhead (≈ 1 ms each) rather than arithmetic, so UORO overtakes RTRL
only from n ≈ 64 (at n = 128: 2.6 ms against RTRL's 21 ms; BPTT 0.09 ms on torch's fused
kernel, which elman_tanh then ran on).

Randomness: the signs come from a torch.Generator seeded afresh at each training step from (train.seed,
the step) (sensitivity.batch_generator), so a run is reproducible, and a resumed run draws exactly what
the uninterrupted one would have, with nothing added to the checkpoint: the step is already in it.

Departures from the paper: the estimate is kept per sequence of the batch (a column and a row each),
so the batch's gradient averages B independent estimates.  ε = 1e-7 is added to both norms of each ρ
(‖·‖ + ε over ‖·‖ + ε): at the first step s̃ = θ̃ = 0 and ρ₀ would be 0/0; any ρ > 0 keeps the estimate
unbiased, so the guard costs no bias.  With ``train.online = false`` (the default) the estimated
gradient is applied once per batch, like BPTT's; with ``train.online = true`` after every step with a
loss, as in the paper's Algorithm 1.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .sensitivity import Carried, OneStep, SensitivityAlgorithm

_EPSILON = 1e-7  # added to both norms of each scaling ρ: 0/0 at the first step, where s̃ = θ̃ = 0

_STATE_FACTOR = "s̃"  # the column s̃_t (B, n) in the carried tensors; the rows θ̃_t are under the parameters' names


def random_signs(shape: tuple[int, ...], generator: torch.Generator, *, dtype, device) -> Tensor:
    """ν: independent uniform ±1 entries of ``shape`` (zero mean, identity covariance), drawn on the CPU from
    ``generator`` so that the draws do not depend on the device."""
    bits = torch.randint(0, 2, shape, generator=generator)
    return (2 * bits - 1).to(dtype=dtype, device=device)


def variance_minimising_scalings(row_norm: Tensor, forward_norm: Tensor, backward_norm: Tensor,
                                 signs_norm: Tensor) -> tuple[Tensor, Tensor]:
    """ρ₀ = √(‖θ̃_{t−1}‖ / ‖J_t s̃_{t−1}‖), ρ₁ = √(‖ν_tᵀ K_t‖ / ‖ν_t‖) (Tallec & Ollivier 2018, §3), each norm
    plus ε; all arguments (B,), one a sequence -> (ρ₀, ρ₁), (B,) each."""
    rho0 = torch.sqrt((row_norm + _EPSILON) / (forward_norm + _EPSILON))
    rho1 = torch.sqrt((backward_norm + _EPSILON) / (signs_norm + _EPSILON))
    return rho0, rho1


class UORO(SensitivityAlgorithm):
    name = "uoro"

    def start(self, step: OneStep, inputs: Tensor) -> Carried:
        batch_size = inputs.shape[1]
        # s̃_0 = 0 (B, n) and θ̃_0 = 0 (B, P_θ) per parameter
        return {_STATE_FACTOR: step.zeros(batch_size, step.n),
                **{name: step.zeros(batch_size, step.tracked[name].numel()) for name in step.names}}

    def advance(self, step: OneStep, carried: Carried, s_prev: Tensor, x: Tensor,
                generator: torch.Generator) -> tuple[Carried, Tensor]:
        batch_size = s_prev.shape[0]
        column, rows = carried[_STATE_FACTOR], [carried[name] for name in step.names]  # s̃ (B, n), θ̃ (B, P_θ)
        signs = random_signs((batch_size, step.n), generator, dtype=s_prev.dtype, device=s_prev.device)  # ν (B, n)
        s_new, forward = step.tangent(s_prev, x, column)  # s_t, J_t s̃_{t−1} (B, n)
        backward = [b.reshape(batch_size, -1)  # ν_tᵀ K_t (B, P_θ) per parameter
                    for b in step.cotangents(s_prev, x, signs.unsqueeze(1))]
        rho0, rho1 = variance_minimising_scalings(_norm(rows), forward.norm(dim=1), _norm(backward), signs.norm(dim=1))
        rho0, rho1 = rho0.unsqueeze(1), rho1.unsqueeze(1)  # (B, 1)
        advanced = {_STATE_FACTOR: rho0 * forward + rho1 * signs}
        advanced.update({name: row / rho0 + b / rho1 for name, row, b in zip(step.names, rows, backward)})
        return advanced, s_new

    def through_state(self, step: OneStep, carried: Carried, grad_state: Tensor) -> dict[str, Tensor]:
        along = (grad_state * carried[_STATE_FACTOR]).sum(dim=1)  # (∂L_t/∂s_{t−1}) · s̃_{t−1}, (B,)
        return {name: (along @ carried[name]).view_as(step.tracked[name]) for name in step.names}


def _norm(parts: list[Tensor]) -> Tensor:
    """The Euclidean norm of each sequence's row split over the parameters, [(B, P_θ)] -> (B,)."""
    return torch.sqrt(sum((p * p).sum(dim=1) for p in parts))

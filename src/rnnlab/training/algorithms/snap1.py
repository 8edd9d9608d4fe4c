"""SnAp-1 (Menick et al. 2021): RTRL's sensitivity kept only where a weight reaches a state unit within one step.

Menick, Elsen, Evci, Osindero, Simonyan & Graves (2021), "Practical real time recurrent learning with a
sparse approximation", ICLR; symbols of sensitivity.py (s_t = F(s_{t−1}, x_t; θ), J_t = ∂F/∂s_{t−1} — D_t
there —, K_t = ∂F/∂θ — I_t, the immediate Jacobian —, M_t = ∂s_t/∂θ — their influence matrix J_t).
RTRL carries M_t = J_t M_{t−1} + K_t (§2).  The Sparse n-step Approximation (§3) keeps only the entries of
M_t that are non-zero within n steps of the recurrent core, a fixed pattern 𝒫_n:

    M̂_t = (J_t M̂_{t−1} + K_t) ⊙ 𝒫_n,       M̂_0 = 0,

and for n = 1 the pattern is the sparsity pattern of the immediate Jacobian K_t: entry (i, p) is kept
when the weight θ_p reaches the state unit i within one step.  Then only the entries J_t[i, j] with i and j
both in the pattern of a column p enter.  When every weight reaches a single unit u(p) in one step (the
Elman network, the GRU of torch.nn, the fully recurrent network), this is the diagonal recursion

    M̂_t[u(p), p] = J_t[u(p), u(p)] M̂_{t−1}[u(p), p] + K_t[u(p), p],

one number per weight: the influence of each unit on itself, the rest of J_t dropped.  The LSTM's input,
forget and cell-input weights of unit j reach both c_j and h_j, and the 2 × 2 block of J_t on (h_j, c_j)
enters.  The gradient is read like RTRL's, from M̂_{t−1}.  Exact, therefore, when J_t keeps every column of
M_t on its one-step pattern: for the Elman, GRU and fully recurrent networks, a diagonal recurrent matrix
(tested against RTRL within 1e-10).  An approximation, biased, otherwise — the LSTM even with diagonal
recurrent blocks, as its output-gate weights reach h_j in one step but c_j only in two.

Implementation.  The pattern is found once per run, from K_t computed (``jacrev``) at two random points
(random state, input and a perturbation of the weights; a structural zero is zero at every point, an
accidental one at almost none).  The state units are coloured, per parameter tensor, so that no column
has two units of one colour in its pattern (greedy colouring; C colours: 1 for the Elman network and
torch's GRU, 2 for the LSTM); M̂ is stored as C numbers a weight, (B, C, P) per tensor, and K_t on the
pattern is read by one vjp a colour, with the colour's indicator vector as cotangent (exact: a column has
at most one unit of each colour, and K_t is zero off the pattern).  J_t comes whole from n reverse passes.

Cost per step, for a net of n units and P weights in the recurrent layer: memory B·C·P for M̂ (B·P for
the Elman network: as many numbers as weights, a sequence), independent of T, against RTRL's B·n·P;
plus B·n² for J_t, transient.  Time: the step's n + C reverse passes, O(n·(n² + n·H_in)) for the Elman
network, plus C²·P for the masked product, against RTRL's n·P + n²·P = O(n⁴).  Menick et al. count SnAp-1
"no more expensive than backpropagation" because for a given cell diag(J_t) has a closed form
((1 − h²) ⊙ diag W_hh for the Elman network); read through ``torch.func`` for any cell, J_t costs the n
reverse passes here.  Measured (one thread, B = 1, float32, elman_tanh on adding): memory flat in T (39 KiB
at n = 32 for T = 100 and 1,000; RTRL 700 KiB); time about 2–3 ms a step up to n = 64, mostly the
``torch.func`` transforms' own overhead, so SnAp-1 overtakes RTRL only from n ≈ 64 (at n = 128: 4.1 ms
against RTRL's 21 ms).

Where the pattern is dense, SnAp-1 is RTRL: in ``gru_v3`` (Cho et al.'s GRU, the reset gate applied to h
before the recurrent product) a reset-gate weight reaches every unit in one step, so its tensor needs n
colours and costs what RTRL does.

Departure from the paper: with ``train.online = false`` (the default) the gradient is applied once per
batch, like BPTT's; with ``train.online = true`` after every step with a loss, as in the paper.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor
from torch.func import jacrev

from .sensitivity import Carried, OneStep, SensitivityAlgorithm

_PROBES = 2  # random points at which K_t's sparsity pattern is read (their union is kept)
_PROBE_SEED = 0  # the probes' own generator: finding the pattern draws nothing from the run's streams
_PROBE_SCALE = 0.5  # the probes' state and input ~ N(0, 1), weights + N(0, _PROBE_SCALE²)


class OneStepPattern(NamedTuple):
    """The one-step sparsity pattern of K_t, coloured for reading and storing (per parameter tensor).

    rows[name] (C, P) int64: the state unit of colour c that weight p reaches in one step, or −1 (none);
    directions (D, n): the distinct colour indicators (the cotangents that read K_t on the pattern);
    direction_of[name] (C,) int64: which of ``directions`` each colour of the tensor is."""

    rows: dict[str, Tensor]
    directions: Tensor
    direction_of: dict[str, Tensor]


def one_step_reach(step: OneStep, input_shape: tuple[int, ...]) -> dict[str, Tensor]:
    """Which state units each weight reaches in one step: K_t ≠ 0 at any of ``_PROBES`` random points,
    (n, P) bool per parameter."""
    generator = torch.Generator().manual_seed(_PROBE_SEED)

    def normal(*shape: int) -> Tensor:
        return torch.randn(*shape, generator=generator).to(dtype=step.dtype, device=step.device)

    reach = {name: torch.zeros(step.n, step.tracked[name].numel(), dtype=torch.bool, device=step.device)
             for name in step.names}
    for _ in range(_PROBES):
        values = tuple(v + _PROBE_SCALE * normal(*v.shape) for v in step.values())
        k_parts = jacrev(step.state)(values, normal(step.n), normal(*input_shape))  # (n, *shape) per parameter
        for name, k in zip(step.names, k_parts):
            reach[name] |= k.reshape(step.n, -1) != 0  # a NaN counts as reached
    return reach


def colour_units(reach: Tensor) -> list[list[int]]:
    """Colour the state units (rows of ``reach`` (n, P)) so that no weight reaches two units of one colour
    (greedy, in order) -> the units of each colour; units that no weight reaches get none."""
    shared = (reach.double() @ reach.double().T) > 0  # (n, n): some weight reaches both
    colour_of: list[int | None] = []
    for unit in range(reach.shape[0]):
        if not bool(reach[unit].any()):
            colour_of.append(None)
            continue
        taken = {colour_of[other] for other in range(unit) if bool(shared[unit, other])}
        colour_of.append(next(c for c in range(len(colour_of) + 1) if c not in taken))
    colours = max((c for c in colour_of if c is not None), default=-1) + 1
    return [[unit for unit, c in enumerate(colour_of) if c == colour] for colour in range(colours)]


def one_step_pattern(step: OneStep, input_shape: tuple[int, ...]) -> OneStepPattern:
    rows, direction_of, directions = {}, {}, {}
    for name, reach in one_step_reach(step, input_shape).items():
        colours = colour_units(reach)
        table = torch.full((len(colours), reach.shape[1]), -1, dtype=torch.long, device=step.device)
        for c, units in enumerate(colours):
            sub = reach[units]  # (|units|, P): at most one True a column
            which = torch.tensor(units, device=step.device)[sub.to(torch.uint8).argmax(dim=0)]
            table[c] = torch.where(sub.any(dim=0), which, -1)
        rows[name] = table
        direction_of[name] = torch.tensor([directions.setdefault(tuple(units), len(directions)) for units in colours],
                                          dtype=torch.long, device=step.device)
    indicators = step.zeros(len(directions), step.n)
    for units, d in directions.items():
        indicators[d, list(units)] = 1.0
    return OneStepPattern(rows, indicators, direction_of)


class SnAp1(SensitivityAlgorithm):
    name = "snap1"

    def __init__(self, trainer) -> None:
        super().__init__(trainer)
        self._pattern: OneStepPattern | None = None  # the model's structure: found at the first batch

    def pattern(self, step: OneStep, input_shape: tuple[int, ...]) -> OneStepPattern:
        if self._pattern is None:
            self._pattern = one_step_pattern(step, input_shape)
        return self._pattern

    def start(self, step: OneStep, inputs: Tensor) -> Carried:
        pattern = self.pattern(step, tuple(inputs.shape[2:]))
        # M̂_0 = 0: (B, C, P_θ) per parameter, C numbers a weight
        return {name: step.zeros(inputs.shape[1], *pattern.rows[name].shape) for name in step.names}

    def advance(self, step: OneStep, carried: Carried, s_prev: Tensor, x: Tensor, generator) -> tuple[Carried, Tensor]:
        pattern, batch_size = self._pattern, s_prev.shape[0]
        j, s_new = step.state_jacobian(s_prev, x)  # J_t (B, n, n)
        directions = pattern.directions.expand(batch_size, -1, -1)  # (B, D, n)
        k_parts = step.cotangents(s_prev, x, directions)  # uᵀ K_t (B, D, *shape) per parameter
        advanced = {}
        for name, k in zip(step.names, k_parts):
            rows = pattern.rows[name]  # (C, P)
            kept, units = rows >= 0, rows.clamp(min=0)
            new = k.reshape(batch_size, k.shape[1], -1)[:, pattern.direction_of[name]]  # K_t on the pattern (B, C, P)
            for c in range(rows.shape[0]):  # + J_t[u_c'(p), u_c(p)] M̂_{t−1}[u_c(p), p] for each colour c
                new = new + j[:, units, units[c]] * carried[name][:, c : c + 1]  # (B, C, P)
            advanced[name] = torch.where(kept, new, 0.0)
        return advanced, s_new

    def through_state(self, step: OneStep, carried: Carried, grad_state: Tensor) -> dict[str, Tensor]:
        extra = {}
        for name in step.names:
            units = self._pattern.rows[name].clamp(min=0)  # (C, P); M̂ is 0 off the pattern
            extra[name] = (grad_state[:, units] * carried[name]).sum(dim=(0, 1)).view_as(step.tracked[name])
        return extra

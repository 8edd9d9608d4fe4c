"""The state Jacobians of a recurrent cell along a trajectory, and the singular values of their products.

For a cell s_t = F(x_t, s_{t−1}) the one-step Jacobian is J_t = ∂s_t/∂s_{t−1} (n × n, n the size
of the whole state: h, and c for the LSTM).  The error that reaches step t − k from step t is
multiplied by J_tᵀ ··· J_{t−k+1}ᵀ (Pascanu, Mikolov & Bengio 2013, eq. 5), so the singular
values of the product P_k = J_k ··· J_1 decide whether it vanishes (σ_1 → 0) or may explode.
For the Elman cell J_t = diag(φ′(a_t))·W_hh, hence σ_1(J_t) ≤ γ·σ_1(W_hh) with γ = max φ′
(1 for tanh, ¼ for the logistic): Pascanu et al.'s §3.2 bound.

Products are never formed naively (their entries underflow or overflow within a few dozen
steps).  The QR recursion of Lyapunov-exponent computations (Benettin et al. 1980; Eckmann &
Ruelle 1985) is used instead: with Q_0 = I,

    J_k Q_{k−1} = Q_k R_k        so that        P_k = Q_k · (R_k ··· R_1)

and the triangular product U_k = R_k ··· R_1 is kept rescaled, U_k = e^{−a_k}·R_k U_{k−1}
with a_k chosen so that max |U_k| = 1.  Then σ_i(P_k) = e^{a_k}·σ_i(U_k) (Q_k is orthogonal),
so log σ_i(P_k) = a_k + log σ_i(U_k): exact in exact arithmetic, and in float64 for every σ_i
within about 15 orders of magnitude of σ_1 (smaller ones come out as −inf or as noise there).
The Lyapunov exponents λ_i = (1/k) Σ_t log |R_t,ii| are given beside them.

J_t is computed exactly by autograd, every sequence of the batch at once: the state is
repeated n times, row i of ∂F/∂s picked out by a one-hot vector (one forward and one backward
of a batch of n·B).  Everything is computed in float64.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..cells.base import RecurrentCell
from ..layers import Recurrent


@dataclass
class JacobianSpectrum:
    """singular_values: (T, B, n) σ_i(J_t), descending, of each one-step Jacobian.
    spectral_radius: (T, B) max |eigenvalue| of each J_t.
    log_product: (T, B, n) log σ_i(J_k ··· J_1) for k = 1 … T, descending (natural log).
    lyapunov: (B, n) the exponents (1/T) Σ_t log |R_t,ii|, per step (natural log)."""

    singular_values: Tensor
    spectral_radius: Tensor
    log_product: Tensor
    lyapunov: Tensor

    def top_exponent(self) -> Tensor:
        """(B,) (1/T) log σ_1(J_T ··· J_1): the growth per step of the fastest direction."""
        steps = self.log_product.shape[0]
        return self.log_product[-1, :, 0] / steps


def _as_cell(cell_or_layer: nn.Module, layer: int) -> RecurrentCell:
    if isinstance(cell_or_layer, Recurrent):
        if not 0 <= layer < cell_or_layer.num_layers:
            raise ValueError(f"layer must be in [0, {cell_or_layer.num_layers}); got {layer}")
        return cell_or_layer.cells[cell_or_layer._cell_index(layer, False)]
    if isinstance(cell_or_layer, RecurrentCell):
        return cell_or_layer
    raise TypeError(f"jacobian_spectrum needs an rnnlab cell or Recurrent layer; got {type(cell_or_layer).__name__}")


def _flat(state) -> Tensor:
    return state if isinstance(state, Tensor) else torch.cat(list(state), dim=-1)  # (B, n)


def _unflat(cell: RecurrentCell, flat: Tensor):
    return cell.state_from_fields(list(torch.split(flat, list(cell.state_sizes), dim=-1)))


def step_jacobian(cell: RecurrentCell, x: Tensor, state) -> tuple[Tensor, Tensor]:
    """x (B, H_in), state -> (J (B, n, n) = ∂s_t/∂s_{t−1} with the state fields concatenated, s_t (B, n))."""
    s = _flat(state)
    B, n = s.shape
    repeated = s.detach().unsqueeze(0).expand(n, B, n).reshape(n * B, n).requires_grad_(True)  # (n·B, n)
    with torch.enable_grad():
        _, new = cell(x.repeat(n, 1), _unflat(cell, repeated))
        out = _flat(new).view(n, B, n)
        picked = torch.diagonal(out, dim1=0, dim2=2).sum()  # Σ_i out[i, :, i]
        (grad,) = torch.autograd.grad(picked, repeated)
    jacobian = grad.view(n, B, n).transpose(0, 1)  # (B, n, n): row i is ∂s_t,i/∂s_{t−1}
    return jacobian, out[0].detach()


def jacobian_spectrum(cell_or_layer: nn.Module, inputs: Tensor, state=None, *, layer: int = 0) -> JacobianSpectrum:
    """The spectra of ∂s_t/∂s_{t−1} along the trajectory of ``inputs`` (module docstring).

    Args:
        cell_or_layer: an rnnlab cell, or a ``Recurrent`` (its ``layer``-th forward cell, which
            then reads ``inputs`` directly: give layer > 0 the outputs of the layer below).
        inputs: (T, B, H_in) the inputs x_1 … x_T.
        state: the cell's state before x_1; zeros when None.
    """
    cell = _as_cell(cell_or_layer, layer)
    if not isinstance(inputs, Tensor) or inputs.dim() != 3 or inputs.shape[-1] != cell.input_size:
        shape = tuple(inputs.shape) if isinstance(inputs, Tensor) else type(inputs).__name__
        raise ValueError(f"jacobian_spectrum expects inputs of shape (T, B, {cell.input_size}); got {shape}")
    if inputs.shape[0] == 0:
        raise ValueError("jacobian_spectrum needs at least one step of inputs; got T = 0")
    cell = copy.deepcopy(cell).to(torch.float64)  # the caller's cell is left as it is
    with torch.no_grad():
        x = inputs.detach().to(torch.float64)
        T, B, _ = x.shape
        if state is None:
            state = cell.initial_state(B, dtype=torch.float64)
        else:
            state = cell.state_from_fields([f.detach().to(torch.float64) for f in
                                            ([state] if isinstance(state, Tensor) else list(state))])
        n = sum(cell.state_sizes)
        q = torch.eye(n, dtype=torch.float64).expand(B, n, n)
        u = torch.eye(n, dtype=torch.float64).expand(B, n, n)
        scale = torch.zeros(B, dtype=torch.float64)  # a_k
        log_diag = torch.zeros(B, n, dtype=torch.float64)
        singular, radius, log_product = [], [], []
        for t in range(T):
            jacobian, flat = step_jacobian(cell, x[t], state)
            state = _unflat(cell, flat)
            singular.append(torch.linalg.svdvals(jacobian))
            radius.append(torch.linalg.eigvals(jacobian).abs().amax(-1))
            q, r = torch.linalg.qr(jacobian @ q)  # J_k Q_{k−1} = Q_k R_k
            log_diag = log_diag + r.diagonal(dim1=-2, dim2=-1).abs().log()
            u = r @ u
            top = u.abs().flatten(1).amax(1).clamp(min=torch.finfo(torch.float64).tiny)  # (B,)
            u = u / top.view(B, 1, 1)
            scale = scale + top.log()
            log_product.append(torch.linalg.svdvals(u).log() + scale.unsqueeze(1))
    return JacobianSpectrum(singular_values=torch.stack(singular), spectral_radius=torch.stack(radius),
                            log_product=torch.stack(log_product), lyapunov=log_diag / T)

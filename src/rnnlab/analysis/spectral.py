"""The size of a recurrent matrix: its largest singular value λ₁ and its spectral radius ρ, read and set.

Pascanu, Mikolov & Bengio (2013, §3.2) bound the one-step Jacobian of an Elman network by
‖diag(φ′)·W_hh‖ ≤ γ·λ₁ with γ = max φ′ (1 for tanh and ReLU, ¼ for the logistic): the error
vanishes for sure when λ₁ < 1/γ, and can explode only when λ₁ > 1/γ.  The spectral radius
ρ ≤ λ₁ is the quantity of echo-state and initialisation work (Jaeger 2001; Sutskever et al.
2013), reported beside it.

A gated cell stacks its gates' recurrent matrices in one ``weight_hh`` (torch.nn's layout:
(G·H, H_out), gate blocks of H rows); ``recurrent_matrices`` reads each block on its own.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..layers import Recurrent

ACTIVATION_SLOPE = {"tanh": 1.0, "relu": 1.0, "sigmoid": 0.25}
"""γ = max φ′ of Pascanu et al. (2013, §3.2) for each nonlinearity."""


def largest_singular_value(matrix: Tensor) -> float:
    """λ₁ = ‖W‖₂ of a 2-D tensor."""
    _check_matrix(matrix)
    return float(torch.linalg.matrix_norm(matrix.detach().to(torch.float64), ord=2))


def spectral_radius(matrix: Tensor) -> float:
    """ρ = max |eigenvalue| of a square 2-D tensor."""
    _check_matrix(matrix, square=True)
    return float(torch.linalg.eigvals(matrix.detach().to(torch.float64)).abs().max())


@torch.no_grad()
def set_largest_singular_value_(matrix: Tensor, value: float) -> Tensor:
    """Scale ``matrix`` in place so that its λ₁ is ``value``; returns it."""
    _check_target(value)
    current = largest_singular_value(matrix)
    if current == 0:
        raise ValueError("cannot scale a zero matrix to a largest singular value")
    return matrix.mul_(value / current)


@torch.no_grad()
def set_spectral_radius_(matrix: Tensor, value: float) -> Tensor:
    """Scale the square ``matrix`` in place so that its spectral radius is ``value``; returns it."""
    _check_target(value)
    current = spectral_radius(matrix)
    if current == 0:
        raise ValueError("cannot scale a matrix whose eigenvalues are all 0 to a spectral radius")
    return matrix.mul_(value / current)


def recurrent_matrices(model: nn.Module) -> dict[str, Tensor]:
    """Every recurrent matrix of every ``Recurrent`` in ``model``, by torch.nn name, a gated cell's
    gate blocks apart: e.g. ``{"recurrent.weight_hh_l0": (H, H)}`` for an Elman stack and
    ``"recurrent.weight_hh_l0[0]"`` … ``[3]`` for the LSTM's gates (i, f, g, o in torch's order).
    The tensors are views of the parameters."""
    found = {}
    for name, layer in model.named_modules():
        if not isinstance(layer, Recurrent):
            continue
        for index, cell in enumerate(layer.cells):
            weight = getattr(cell, "weight_hh", None)
            if not isinstance(weight, Tensor):
                continue
            key = (f"{name}." if name else "") + layer._torch_name(index, "weight_hh")
            rows, hidden = weight.shape[0], cell.hidden_size
            if rows == hidden:
                found[key] = weight
            else:
                for gate, block in enumerate(weight.split(hidden, dim=0)):
                    found[f"{key}[{gate}]"] = block
    return found


def spectra_report(model: nn.Module) -> dict[str, dict[str, float]]:
    """λ₁ and ρ (where the block is square) of every matrix of ``recurrent_matrices(model)``."""
    report = {}
    for key, matrix in recurrent_matrices(model).items():
        entry = {"largest_singular_value": largest_singular_value(matrix)}
        if matrix.shape[0] == matrix.shape[1]:
            entry["spectral_radius"] = spectral_radius(matrix)
        report[key] = entry
    return report


def _check_matrix(matrix, *, square: bool = False) -> None:
    if not isinstance(matrix, Tensor) or matrix.dim() != 2 or (square and matrix.shape[0] != matrix.shape[1]):
        shape = tuple(matrix.shape) if isinstance(matrix, Tensor) else type(matrix).__name__
        raise ValueError(f"expected a {'square ' if square else ''}2-D matrix; got {shape}")


def _check_target(value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"the target must be a number >= 0; got {value!r}")

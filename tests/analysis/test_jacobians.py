"""jacobian_spectrum: exact one-step Jacobians, stable products, Pascanu's bound."""

import math

import pytest
import torch

import rnnlab
from rnnlab.analysis import jacobian_spectrum, set_largest_singular_value_, step_jacobian


@pytest.mark.parametrize("cell", ["elman_tanh", "lstm", "gru", "gru3"])
def test_step_jacobian_equals_autograd_per_sequence(cell):
    torch.manual_seed(0)
    step = rnnlab.cells.create(cell, 3, 4).double()
    x = torch.randn(2, 3, dtype=torch.float64)
    state = step.initial_state(2, dtype=torch.float64)
    state = step.state_from_fields([torch.randn_like(f) for f in ([state] if isinstance(state, torch.Tensor)
                                                                    else list(state))])
    jacobian, _ = step_jacobian(step, x, state)
    sizes = list(step.state_sizes)
    for b in range(2):
        flat = torch.cat([f[b] for f in ([state] if isinstance(state, torch.Tensor) else state)])

        def one(s):
            fields = list(torch.split(s.unsqueeze(0), sizes, dim=-1))
            _, new = step(x[b:b + 1], step.state_from_fields(fields))
            return torch.cat([f[0] for f in ([new] if isinstance(new, torch.Tensor) else new)])

        assert torch.allclose(jacobian[b], torch.autograd.functional.jacobian(one, flat), atol=1e-12)


def test_elman_jacobian_is_diag_phi_prime_times_w_hh_and_obeys_pascanu_bound():
    torch.manual_seed(1)
    layer = rnnlab.Recurrent("elman_tanh", 2, 8).double()
    set_largest_singular_value_(layer.weight_hh_l0, 0.9)
    x = torch.randn(20, 3, 2, dtype=torch.float64)
    spectrum = jacobian_spectrum(layer, x)
    h, _ = layer(x)
    jacobian, _ = step_jacobian(layer.cells[0], x[5], h[4])
    expected = (1 - h[5] ** 2).unsqueeze(-1) * layer.weight_hh_l0  # diag(φ′) W_hh, (B, H, H)
    assert torch.allclose(jacobian, expected.detach(), atol=1e-12)
    assert (spectrum.singular_values[..., 0] <= 0.9 + 1e-12).all()  # σ_1(J_t) ≤ γ λ₁, γ = 1 for tanh


def test_log_product_equals_the_naive_product_where_that_is_representable():
    torch.manual_seed(2)
    layer = rnnlab.Recurrent("gru", 2, 5).double()
    x = torch.randn(6, 2, 2, dtype=torch.float64)
    spectrum = jacobian_spectrum(layer, x)
    state = layer.cells[0].initial_state(2, dtype=torch.float64)
    product = torch.eye(5, dtype=torch.float64).expand(2, 5, 5)
    for t in range(6):
        jacobian, flat = step_jacobian(layer.cells[0], x[t], state)
        state = flat
        product = jacobian @ product
        assert torch.allclose(spectrum.log_product[t], torch.linalg.svdvals(product).log(), atol=1e-9)
        assert torch.allclose(spectrum.singular_values[t], torch.linalg.svdvals(jacobian))


def test_long_products_stay_finite_where_the_naive_one_underflows():
    torch.manual_seed(3)
    layer = rnnlab.Recurrent("elman_tanh", 2, 6)
    set_largest_singular_value_(layer.weight_hh_l0, 0.05)
    spectrum = jacobian_spectrum(layer, torch.randn(400, 1, 2))
    top = spectrum.log_product[:, 0, 0]
    assert torch.isfinite(top).all()
    assert top[-1] < math.log(torch.finfo(torch.float64).tiny)  # far below what a float64 product could hold
    assert top[-1] <= 400 * math.log(0.05) + 1e-6  # and below Pascanu's bound, (γ λ₁)^T
    assert spectrum.top_exponent()[0] == pytest.approx(float(top[-1]) / 400)
    assert spectrum.lyapunov[0, 0] <= math.log(0.05) + 1e-9


def test_the_callers_cell_is_untouched_and_bad_inputs_are_explained():
    layer = rnnlab.Recurrent("lstm", 3, 4)
    before = {k: v.clone() for k, v in layer.state_dict().items()}
    jacobian_spectrum(layer, torch.randn(3, 2, 3))
    assert all(torch.equal(before[k], v) and v.dtype == torch.float32 for k, v in layer.state_dict().items())
    with pytest.raises(ValueError, match=r"expects inputs of shape \(T, B, 3\); got \(3, 2\)"):
        jacobian_spectrum(layer, torch.randn(3, 2))
    with pytest.raises(ValueError, match="at least one step"):
        jacobian_spectrum(layer, torch.randn(0, 2, 3))
    with pytest.raises(ValueError, match=r"layer must be in \[0, 1\); got 1"):
        jacobian_spectrum(layer, torch.randn(3, 2, 3), layer=1)
    with pytest.raises(TypeError, match="needs an rnnlab cell or Recurrent layer; got Linear"):
        jacobian_spectrum(torch.nn.Linear(3, 3), torch.randn(3, 2, 3))

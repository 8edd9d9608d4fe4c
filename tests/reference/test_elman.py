"""rnnlab.reference.elman: its hand-written BPTT equals autograd through rnnlab's own layers (torch's fused
kernel and the plain loop), finite differences, and a hand-computed table; bad shapes are refused by name.

Differences against autograd are max absolute differences over every entry, in float64, on gradients
whose largest entries are of order 1 to 20 (measured: differences of 1e-15 to 1e-14).
"""

import re

import numpy as np
import pytest
import torch

import rnnlab
from rnnlab.reference import elman_backward, elman_forward, gradient_check

B, H_IN, H = 3, 4, 5
TOLERANCE = 1e-10  # max |reference − autograd|, float64


@pytest.mark.parametrize("steps", [1, 12])
@pytest.mark.parametrize("fast_paths", [True, False], ids=["fused kernel", "plain loop"])
@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_gradients_equal_autograd_through_rnnlab(nonlinearity, fast_paths, steps):
    torch.manual_seed(0)
    layer = rnnlab.Recurrent(f"elman_{nonlinearity}", H_IN, H, dtype=torch.float64)
    layer.fast_paths = fast_paths
    params = dict(layer.cells[0].named_parameters())  # weight_ih, weight_hh, bias_ih, bias_hh
    x = torch.randn(steps, B, H_IN, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(1, B, H, dtype=torch.float64, requires_grad=True)  # (layers, B, H)
    upstream = torch.randn(steps, B, H, dtype=torch.float64)  # G
    upstream_final = torch.randn(B, H, dtype=torch.float64)  # G_final
    y, h_n = layer(x, h0)
    loss = (upstream * y).sum() + (upstream_final * h_n[0]).sum()  # L = Σ G ⊙ h_{1…T} + Σ G_final ⊙ h_T
    expected = dict(zip(["x", "h0", *params], torch.autograd.grad(loss, [x, h0, *params.values()])))
    expected["h0"] = expected["h0"][0]

    weights = {name: p.detach().numpy() for name, p in params.items()}
    hs, cache = elman_forward(x.detach().numpy(), h0[0].detach().numpy(), **weights, nonlinearity=nonlinearity)
    grads = elman_backward(upstream.numpy(), cache, dh_final=upstream_final.numpy())

    assert np.abs(hs - y.detach().numpy()).max() <= TOLERANCE
    assert grads.keys() == expected.keys()
    for name, value in expected.items():
        assert grads[name].shape == value.shape, name
        assert np.abs(grads[name] - value.numpy()).max() <= TOLERANCE, name


def _arrays(rng, steps=3, batch=2, input_size=2, hidden=3):
    return {"x": rng.normal(size=(steps, batch, input_size)), "h0": rng.normal(size=(batch, hidden)),
            "weight_ih": rng.normal(size=(hidden, input_size)), "weight_hh": rng.normal(size=(hidden, hidden)) / 2,
            "bias_ih": rng.normal(size=hidden), "bias_hh": rng.normal(size=hidden)}


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_gradients_equal_finite_differences(nonlinearity):
    rng = np.random.default_rng(0)
    arrays = _arrays(rng)
    upstream, upstream_final = rng.normal(size=(3, 2, 3)), rng.normal(size=(2, 3))

    def loss():
        hs, _ = elman_forward(**arrays, nonlinearity=nonlinearity)
        return np.sum(upstream * hs) + np.sum(upstream_final * hs[-1])

    _, cache = elman_forward(**arrays, nonlinearity=nonlinearity)
    errors = gradient_check(loss, elman_backward(upstream, cache, dh_final=upstream_final), arrays)
    assert max(errors.values()) < 1e-8, errors


# ReLU, no input, no bias, W_hh = a·I and h_0 > 0: h_t = aᵗ h_0 stays positive (φ′ = 1), so the error
# from the final state reaches h_0 multiplied by a once per step, ∂L/∂h_0 = aᵀ ∂L/∂h_T: it vanishes
# or explodes geometrically with the number of steps (a = 0.5, 2) unless a = 1.
@pytest.mark.parametrize("a, steps, factor", [(0.5, 10, 2.0**-10), (1.0, 10, 1.0), (2.0, 10, 2.0**10)])
def test_error_scales_as_a_to_the_number_of_steps(a, steps, factor):
    h0 = np.array([[1.0, 2.0]])  # (B, H) = (1, 2)
    hs, cache = elman_forward(np.zeros((steps, 1, 1)), h0, np.zeros((2, 1)), a * np.eye(2), np.zeros(2), np.zeros(2),
                              nonlinearity="relu")
    grads = elman_backward(np.zeros_like(hs), cache, dh_final=np.array([[1.0, -1.0]]))
    np.testing.assert_array_equal(hs[-1], a**steps * h0)
    np.testing.assert_array_equal(grads["h0"], [[factor, -factor]])


def test_without_a_final_state_term():
    rng = np.random.default_rng(1)
    arrays = _arrays(rng)
    hs, cache = elman_forward(**arrays)
    upstream = rng.normal(size=hs.shape)
    with_zeros = elman_backward(upstream, cache, dh_final=np.zeros_like(hs[-1]))
    for name, value in elman_backward(upstream, cache).items():
        np.testing.assert_array_equal(value, with_zeros[name])


# ---- bad input: a ValueError naming the argument, the shape expected and where its sizes come from ----

@pytest.mark.parametrize("name, shape, message", [
    ("x", (7, 4), "elman_forward: x must have shape (T, B, H_in); got (7, 4)"),
    ("h0", (4, 5), "elman_forward: h0 must have shape (B, H), with B = 3 from x; got (4, 5)"),
    ("weight_ih", (5, 5), "elman_forward: weight_ih must have shape (H, H_in) = (5, 4), with H = 5 from h0 and "
                          "H_in = 4 from x; got (5, 5)"),
    ("weight_hh", (5,), "elman_forward: weight_hh must have shape (H, H) = (5, 5), with H = 5 from h0; got (5,)"),
    ("bias_hh", (1, 5), "elman_forward: bias_hh must have shape (H,) = (5,), with H = 5 from h0; got (1, 5)"),
])
def test_forward_refuses_a_bad_shape(name, shape, message):
    arrays = {"x": np.zeros((7, B, H_IN)), "h0": np.zeros((B, H)), "weight_ih": np.zeros((H, H_IN)),
              "weight_hh": np.zeros((H, H)), "bias_ih": np.zeros(H), "bias_hh": np.zeros(H)}
    arrays[name] = np.zeros(shape)
    with pytest.raises(ValueError, match=re.escape(message)):
        elman_forward(**arrays)


def test_forward_refuses_an_unknown_nonlinearity():
    with pytest.raises(ValueError, match=re.escape("nonlinearity must be one of ['relu', 'tanh']; got 'sigmoid'")):
        elman_forward(np.zeros((7, B, H_IN)), np.zeros((B, H)), np.zeros((H, H_IN)), np.zeros((H, H)), np.zeros(H),
                      np.zeros(H), nonlinearity="sigmoid")


@pytest.mark.parametrize("dhs, dh_final, message", [
    ((6, B, H), None, "elman_backward: dhs must have shape (T, B, H) = (7, 3, 5), with T = 7, B = 3, H = 5 from hs; "
                      "got (6, 3, 5)"),
    ((7, B, H), (H, B), "elman_backward: dh_final must have shape (B, H) = (3, 5), with B = 3, H = 5 from hs; "
                        "got (5, 3)"),
])
def test_backward_refuses_a_bad_shape(dhs, dh_final, message):
    _, cache = elman_forward(np.zeros((7, B, H_IN)), np.zeros((B, H)), np.zeros((H, H_IN)), np.zeros((H, H)),
                             np.zeros(H), np.zeros(H))
    with pytest.raises(ValueError, match=re.escape(message)):
        elman_backward(np.zeros(dhs), cache, dh_final=None if dh_final is None else np.zeros(dh_final))

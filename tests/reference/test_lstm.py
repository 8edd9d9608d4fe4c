"""rnnlab.reference.lstm: its hand-written BPTT equals autograd through rnnlab's own layers (torch's fused
kernel and the plain loop), finite differences, and the constant error carousel computed by hand; bad
shapes are refused by name.

Differences against autograd are max absolute differences over every entry, in float64, on gradients
whose largest entries are of order 1 to 20 (measured: differences of 1e-15 to 1e-14).
"""

import re

import numpy as np
import pytest
import torch

import rnnlab
from rnnlab.reference import gradient_check, lstm_backward, lstm_forward

B, H_IN, H = 3, 4, 5
TOLERANCE = 1e-10  # max |reference − autograd|, float64


@pytest.mark.parametrize("steps", [1, 12])
@pytest.mark.parametrize("fast_paths", [True, False], ids=["fused kernel", "plain loop"])
def test_gradients_equal_autograd_through_rnnlab(fast_paths, steps):
    torch.manual_seed(0)
    layer = rnnlab.Recurrent("lstm", H_IN, H, dtype=torch.float64, forget_bias=1.0)
    layer.fast_paths = fast_paths
    params = dict(layer.cells[0].named_parameters())  # weight_ih, weight_hh, bias_ih, bias_hh
    x = torch.randn(steps, B, H_IN, dtype=torch.float64, requires_grad=True)
    h0, c0 = (torch.randn(1, B, H, dtype=torch.float64, requires_grad=True) for _ in range(2))  # (layers, B, H)
    upstream = torch.randn(steps, B, H, dtype=torch.float64)  # G
    upstream_h, upstream_c = torch.randn(2, B, H, dtype=torch.float64)  # G_h, G_c
    y, (h_n, c_n) = layer(x, (h0, c0))
    # L = Σ G ⊙ h_{1…T} + Σ G_h ⊙ h_T + Σ G_c ⊙ c_T
    loss = (upstream * y).sum() + (upstream_h * h_n[0]).sum() + (upstream_c * c_n[0]).sum()
    expected = dict(zip(["x", "h0", "c0", *params], torch.autograd.grad(loss, [x, h0, c0, *params.values()])))
    expected["h0"], expected["c0"] = expected["h0"][0], expected["c0"][0]

    weights = {name: p.detach().numpy() for name, p in params.items()}
    hs, c_final, cache = lstm_forward(x.detach().numpy(), h0[0].detach().numpy(), c0[0].detach().numpy(), **weights)
    grads = lstm_backward(upstream.numpy(), cache, dh_final=upstream_h.numpy(), dc_final=upstream_c.numpy())

    assert np.abs(hs - y.detach().numpy()).max() <= TOLERANCE
    assert np.abs(c_final - c_n[0].detach().numpy()).max() <= TOLERANCE
    assert grads.keys() == expected.keys()
    for name, value in expected.items():
        assert grads[name].shape == value.shape, name
        assert np.abs(grads[name] - value.numpy()).max() <= TOLERANCE, name


def test_gradients_equal_finite_differences():
    rng = np.random.default_rng(0)
    T, batch, input_size, hidden = 3, 2, 2, 3
    arrays = {"x": rng.normal(size=(T, batch, input_size)), "h0": rng.normal(size=(batch, hidden)),
              "c0": rng.normal(size=(batch, hidden)), "weight_ih": rng.normal(size=(4 * hidden, input_size)),
              "weight_hh": rng.normal(size=(4 * hidden, hidden)), "bias_ih": rng.normal(size=4 * hidden),
              "bias_hh": rng.normal(size=4 * hidden)}
    upstream, upstream_h, upstream_c = rng.normal(size=(T, batch, hidden)), *rng.normal(size=(2, batch, hidden))

    def loss():
        hs, c_final, _ = lstm_forward(**arrays)
        return np.sum(upstream * hs) + np.sum(upstream_h * hs[-1]) + np.sum(upstream_c * c_final)

    _, _, cache = lstm_forward(**arrays)
    grads = lstm_backward(upstream, cache, dh_final=upstream_h, dc_final=upstream_c)
    errors = gradient_check(loss, grads, arrays)
    assert max(errors.values()) < 1e-8, errors


# The constant error carousel by hand: all weights zero and every bias zero but the forget gate's b_f,
# so i = o = 1/2, g = 0, f = σ(b_f) at every step, c_t = f c_{t−1}, and nothing flows through h.  The error
# on c_T reaches c_0 multiplied by f once per step: ∂L/∂c_0 = σ(b_f)ᵀ ∂L/∂c_T.  Over T = 100 steps it is
# gone with b_f = 0, half of it is left with b_f = 5, and all of it with f = 1 (the 1997 cell, b_f = ∞).
@pytest.mark.parametrize("forget_bias, left_after_100_steps", [(0.0, 2.0**-100), (5.0, 0.511), (np.inf, 1.0)])
def test_constant_error_carousel(forget_bias, left_after_100_steps):
    T = 100
    bias_ih = np.zeros(4 * H)
    bias_ih[H : 2 * H] = forget_bias  # gate order i, f, g, o
    hs, _, cache = lstm_forward(np.zeros((T, B, H_IN)), np.zeros((B, H)), np.ones((B, H)), np.zeros((4 * H, H_IN)),
                                np.zeros((4 * H, H)), bias_ih, np.zeros(4 * H))
    dc_final = np.random.default_rng(0).normal(size=(B, H))
    grads = lstm_backward(np.zeros_like(hs), cache, dc_final=dc_final)
    f = 1 / (1 + np.exp(-forget_bias))
    np.testing.assert_allclose(grads["c0"], f**T * dc_final, rtol=1e-12)
    assert f**T == pytest.approx(left_after_100_steps, rel=1e-3)
    np.testing.assert_array_equal(grads["h0"], 0.0)


# ---- bad input: a ValueError naming the argument, the shape expected and where its sizes come from ----

@pytest.mark.parametrize("name, shape, message", [
    ("x", (7, 4), "lstm_forward: x must have shape (T, B, H_in); got (7, 4)"),
    ("c0", (4, 5), "lstm_forward: c0 must have shape (B, H) = (3, 5), with B = 3 from x and H = 5 from h0; "
                   "got (4, 5)"),
    ("weight_ih", (5, 4), "lstm_forward: weight_ih must have shape (4H, H_in) = (20, 4), with H = 5 from h0 and "
                          "H_in = 4 from x; got (5, 4)"),
    ("weight_hh", (20, 20), "lstm_forward: weight_hh must have shape (4H, H) = (20, 5), with H = 5 from h0; "
                            "got (20, 20)"),
    ("bias_ih", (5,), "lstm_forward: bias_ih must have shape (4H,) = (20,), with H = 5 from h0; got (5,)"),
])
def test_forward_refuses_a_bad_shape(name, shape, message):
    arrays = {"x": np.zeros((7, B, H_IN)), "h0": np.zeros((B, H)), "c0": np.zeros((B, H)),
              "weight_ih": np.zeros((4 * H, H_IN)), "weight_hh": np.zeros((4 * H, H)), "bias_ih": np.zeros(4 * H),
              "bias_hh": np.zeros(4 * H)}
    arrays[name] = np.zeros(shape)
    with pytest.raises(ValueError, match=re.escape(message)):
        lstm_forward(**arrays)


@pytest.mark.parametrize("dhs, dc_final, message", [
    ((B, H), None, "lstm_backward: dhs must have shape (T, B, H) = (7, 3, 5), with T = 7, B = 3, H = 5 from hs; "
                   "got (3, 5)"),
    ((7, B, H), (B, H, 1), "lstm_backward: dc_final must have shape (B, H) = (3, 5), with B = 3, H = 5 from hs; "
                           "got (3, 5, 1)"),
])
def test_backward_refuses_a_bad_shape(dhs, dc_final, message):
    _, _, cache = lstm_forward(np.zeros((7, B, H_IN)), np.zeros((B, H)), np.zeros((B, H)), np.zeros((4 * H, H_IN)),
                               np.zeros((4 * H, H)), np.zeros(4 * H), np.zeros(4 * H))
    with pytest.raises(ValueError, match=re.escape(message)):
        lstm_backward(np.zeros(dhs), cache, dc_final=None if dc_final is None else np.zeros(dc_final))

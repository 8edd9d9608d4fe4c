"""Cells: registry, parameter counts, equations on hand-computed cases, one step vs torch.nn cells."""

import math

import pytest
import torch

import rnnlab
from rnnlab.cells import LSTMState

ALL_CELLS = ["elman_tanh", "elman_relu", "lstm", "gru", "gru_v3", "gru1", "gru2", "gru3", "fully_recurrent", "lstm1997"]


def test_registry_lists_every_cell():
    assert rnnlab.cells.available() == ALL_CELLS


def test_unknown_cell_lists_the_available_ones():
    with pytest.raises(ValueError, match=r"unknown cell 'gru4'; available cells: elman_tanh, .*gru3"):
        rnnlab.cells.create("gru4", 3, 5)


@pytest.mark.parametrize("name", ALL_CELLS)
@pytest.mark.parametrize("arg, value", [("input_size", 0), ("hidden_size", -2)])
def test_non_positive_sizes_are_refused(name, arg, value):
    sizes = {"input_size": 3, "hidden_size": 5, arg: value}
    with pytest.raises(ValueError, match=rf"{arg} must be a positive int; got {value}"):
        rnnlab.cells.create(name, **sizes)


# Dey & Salem (2017) §3: n hidden units, m inputs.
@pytest.mark.parametrize("m, counts", [(28, [38_700, 33_100, 32_900, 13_100]), (1, [30_600, 30_400, 30_200, 10_400])])
def test_gate_variant_parameter_counts(m, counts):
    n = 100
    got = [sum(p.numel() for p in rnnlab.cells.create(name, m, n).parameters())
           for name in ["gru_v3", "gru1", "gru2", "gru3"]]
    assert got == counts
    assert counts[0] == 3 * (n * n + n * m + n)
    assert counts[0] - counts[1] == 2 * n * m
    assert counts[1] - counts[2] == 2 * n
    assert counts[0] - counts[3] == 2 * (n * n + n * m)


def _sigmoid(v):
    return 1 / (1 + math.exp(-v))


def _set(cell, **values):
    with torch.no_grad():
        for name, value in values.items():
            getattr(cell, name).copy_(torch.tensor(value, dtype=torch.float64))


def test_gru_v3_equals_the_papers_equations_by_hand():
    """n = 2, m = 1, one step, weights chosen by hand; reference computed with math.* (eqs. 1-4)."""
    cell = rnnlab.cells.create("gru_v3", 1, 2).double()
    W = [[0.5], [-0.3], [0.2], [0.1], [0.7], [-0.6]]  # rows W_z (2), W_r (2), W_h (2)
    U = [[0.1, 0.2], [-0.1, 0.3], [0.4, -0.2], [0.25, 0.05], [0.3, 0.1], [-0.2, 0.6]]  # U_z, U_r, U_h
    b = [0.05, -0.05, 0.1, 0.0, -0.1, 0.2]  # b_z, b_r, b_h
    _set(cell, weight_ih=W, weight_hh=U, bias=b)
    x, h = [0.8], [0.3, -0.5]

    def row(M, i, v):
        return sum(M[i][j] * v[j] for j in range(len(v)))

    z = [_sigmoid(row(W, k, x) + row(U, k, h) + b[k]) for k in range(2)]
    r = [_sigmoid(row(W, 2 + k, x) + row(U, 2 + k, h) + b[2 + k]) for k in range(2)]
    rh = [r[k] * h[k] for k in range(2)]
    cand = [math.tanh(row(W, 4 + k, x) + row(U, 4 + k, rh) + b[4 + k]) for k in range(2)]
    expected = [(1 - z[k]) * h[k] + z[k] * cand[k] for k in range(2)]

    y, h_new = cell(torch.tensor([x], dtype=torch.float64), torch.tensor([h], dtype=torch.float64))
    assert torch.allclose(h_new, torch.tensor([expected], dtype=torch.float64), atol=1e-12)
    assert torch.equal(y, h_new)
    seq, final = cell.sequence(torch.tensor([[x]], dtype=torch.float64), torch.tensor([h], dtype=torch.float64))
    assert torch.allclose(seq[0], torch.tensor([expected], dtype=torch.float64), atol=1e-12)


@pytest.mark.parametrize("variant", ["gru1", "gru2", "gru3"])
def test_gate_variants_equal_their_equations_by_hand(variant):
    """n = 2, m = 1: gates per Dey & Salem §3, candidate and output as gru_v3."""
    cell = rnnlab.cells.create(variant, 1, 2).double()
    W_h = [[0.7], [-0.6]]
    U_g = [[0.1, 0.2], [-0.1, 0.3], [0.4, -0.2], [0.25, 0.05]]  # U_z, U_r
    U_h = [[0.3, 0.1], [-0.2, 0.6]]
    b_g, b_h = [0.05, -0.05, 0.1, 0.0], [-0.1, 0.2]
    if variant == "gru3":
        _set(cell, weight_ih=W_h, weight_hh=U_h, bias=b_g + b_h)
    elif variant == "gru2":
        _set(cell, weight_ih=W_h, weight_hh=U_g + U_h, bias=b_h)
    else:
        _set(cell, weight_ih=W_h, weight_hh=U_g + U_h, bias=b_g + b_h)
    x, h = [0.8], [0.3, -0.5]

    def gate(k):  # k-th of (z1, z2, r1, r2)
        recurrent = sum(U_g[k][j] * h[j] for j in range(2))
        return _sigmoid({"gru1": recurrent + b_g[k], "gru2": recurrent, "gru3": b_g[k]}[variant])

    z, r = [gate(0), gate(1)], [gate(2), gate(3)]
    cand = [math.tanh(W_h[k][0] * x[0] + sum(U_h[k][j] * r[j] * h[j] for j in range(2)) + b_h[k])
            for k in range(2)]
    expected = torch.tensor([[(1 - z[k]) * h[k] + z[k] * cand[k] for k in range(2)]], dtype=torch.float64)
    _, h_new = cell(torch.tensor([x], dtype=torch.float64), torch.tensor([h], dtype=torch.float64))
    assert torch.allclose(h_new, expected, atol=1e-12)


def _copy_into(cell, torch_cell):
    with torch.no_grad():
        for name, p in torch_cell.named_parameters():
            getattr(cell, name).copy_(p)


@pytest.mark.parametrize("name, make_ref", [
    ("elman_tanh", lambda: torch.nn.RNNCell(3, 5, nonlinearity="tanh")),
    ("elman_relu", lambda: torch.nn.RNNCell(3, 5, nonlinearity="relu")),
    ("gru", lambda: torch.nn.GRUCell(3, 5)),
    ("lstm", lambda: torch.nn.LSTMCell(3, 5)),
])
def test_one_step_equals_torch_nn_cell(name, make_ref):
    torch.manual_seed(0)
    ref = make_ref().double()
    cell = rnnlab.cells.create(name, 3, 5).double()
    _copy_into(cell, ref)
    x = torch.randn(4, 3, dtype=torch.float64)
    if name == "lstm":
        h, c = torch.randn(4, 5, dtype=torch.float64), torch.randn(4, 5, dtype=torch.float64)
        y, state = cell(x, LSTMState(h, c))
        h_ref, c_ref = ref(x, (h, c))
        assert torch.allclose(state.h, h_ref, atol=1e-12) and torch.allclose(state.c, c_ref, atol=1e-12)
        assert torch.equal(y, state.h)
    else:
        h = torch.randn(4, 5, dtype=torch.float64)
        y, state = cell(x, h)
        assert torch.allclose(state, ref(x, h), atol=1e-12)


@pytest.mark.parametrize("name", ALL_CELLS)
def test_stepping_a_cell_by_hand_equals_the_layer(name):
    """Recurrent(cell) over a sequence == calling the cell once per step."""
    torch.manual_seed(0)
    layer = rnnlab.Recurrent(name, 3, 5).double()
    cell = layer.cells[0]
    x = torch.randn(7, 4, 3, dtype=torch.float64)
    y, h_n = layer(x)
    state = cell.initial_state(4)
    outputs = []
    for t in range(7):
        out, state = cell(x[t], state)
        outputs.append(out)
    assert torch.allclose(y, torch.stack(outputs), atol=1e-12)
    final = state.h if name in ("lstm", "lstm1997") else state
    assert torch.allclose((h_n.h if name in ("lstm", "lstm1997") else h_n)[0], final, atol=1e-12)


def test_lstm_projection_step():
    torch.manual_seed(0)
    cell = rnnlab.cells.create("lstm", 3, 5, proj_size=2)
    y, state = cell(torch.randn(4, 3), cell.initial_state(4))
    assert y.shape == (4, 2) and state.h.shape == (4, 2) and state.c.shape == (4, 5)


@pytest.mark.parametrize("name", ["gru", "lstm"])
def test_one_step_checks_its_input(name):
    cell = rnnlab.cells.create(name, 3, 5)
    state = cell.initial_state(4)
    with pytest.raises(ValueError, match=r"expects x_t of shape \(B, 3\); got \(4, 2\)"):
        cell(torch.randn(4, 2), state)
    with pytest.raises(TypeError, match="floating-point x_t; got dtype torch.int64"):
        cell(torch.ones(4, 3, dtype=torch.long), state)
    wrong = torch.zeros(2, 5)
    bad_state = wrong if name == "gru" else LSTMState(wrong, torch.zeros(4, 5))
    field = "state" if name == "gru" else "state.h"
    with pytest.raises(ValueError, match=rf"expects {field} of shape \(4, 5\) for x_t of shape \(4, 3\); got \(2, 5\)"):
        cell(torch.randn(4, 3), bad_state)
    with pytest.raises(TypeError, match="expects the state as"):
        cell(torch.randn(4, 3), (state,) * 3 if name == "lstm" else [state])


def test_lstm_forget_bias_sets_the_forget_gates_start():
    cell = rnnlab.cells.create("lstm", 3, 5, forget_bias=1.0)
    assert torch.equal(cell.bias_ih[5:10] + cell.bias_hh[5:10], torch.ones(5))
    assert not torch.equal(cell.bias_ih[:5], torch.zeros(5))  # the other gates keep torch's initialisation
    layer = rnnlab.LSTM(3, 5, num_layers=2)
    with pytest.raises(ValueError, match="forget_bias needs bias=True"):
        rnnlab.cells.create("lstm", 3, 5, bias=False, forget_bias=1.0)
    assert layer.cells[0].forget_bias is None


def test_lstm_input_bias_sets_the_input_gates_start():
    cell = rnnlab.cells.create("lstm", 3, 5, forget_bias=5.0, input_bias=-3.0)
    assert torch.equal(cell.bias_ih[:5] + cell.bias_hh[:5], torch.full((5,), -3.0))
    assert torch.equal(cell.bias_ih[5:10] + cell.bias_hh[5:10], torch.full((5,), 5.0))
    assert not torch.equal(cell.bias_ih[10:], torch.zeros(10))  # g and o keep torch's initialisation
    with pytest.raises(ValueError, match="input_bias needs bias=True"):
        rnnlab.cells.create("lstm", 3, 5, bias=False, input_bias=-1.0)
    with pytest.raises(ValueError, match="input_bias must be a number; got 'x'"):
        rnnlab.cells.create("lstm", 3, 5, input_bias="x")

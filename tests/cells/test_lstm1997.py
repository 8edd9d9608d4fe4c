"""The 1997 LSTM cell: the paper's equations on a hand-computed step, blocks sharing gates, the carousel, options."""

import math

import pytest
import torch

import rnnlab
from rnnlab.cells.lstm1997 import LSTM1997Cell, LSTM1997GatedState, LSTM1997State


def _sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


def test_one_step_by_hand():
    """One cell, one input: net inputs from x and the previous output, g in [−2, 2], h in [−1, 1] (§4, §5)."""
    cell = LSTM1997Cell(1, 1).double()
    with torch.no_grad():
        cell.weight_ih.copy_(torch.tensor([[0.5], [-1.0], [2.0]], dtype=torch.float64))  # rows: in, out, cell
        cell.weight_hh.copy_(torch.tensor([[0.3], [0.2], [-0.4]], dtype=torch.float64))
        cell.bias.copy_(torch.tensor([-1.0, 0.5, 0.1], dtype=torch.float64))
    x, h0, c0 = 0.8, 0.25, 1.5
    with torch.no_grad():
        y, state = cell(torch.tensor([[x]], dtype=torch.float64),
                        LSTM1997State(torch.tensor([[h0]], dtype=torch.float64),
                                      torch.tensor([[c0]], dtype=torch.float64)))
    y_in = _sigmoid(0.5 * x + 0.3 * h0 - 1.0)
    y_out = _sigmoid(-1.0 * x + 0.2 * h0 + 0.5)
    g = 4 * _sigmoid(2.0 * x - 0.4 * h0 + 0.1) - 2
    c = c0 + y_in * g  # no forget gate: the carousel keeps c0 whole
    h = y_out * (2 * _sigmoid(c) - 1)
    assert float(state.c) == pytest.approx(c, rel=1e-12)
    assert float(y) == pytest.approx(h, rel=1e-12)
    assert torch.equal(y, state.h)


def test_the_cells_of_a_block_share_their_gates():
    torch.manual_seed(0)
    cell = LSTM1997Cell(3, 6, block_size=3)
    parts = cell.parts(torch.randn(5, 3), cell.initial_state(5))
    assert cell.blocks == 2
    assert parts.in_gate.shape == parts.out_gate.shape == (5, 2)
    assert parts.h.shape == parts.c.shape == (5, 6)
    # each cell's output is its block's output gate times h(s_c)
    expected = parts.out_gate.repeat_interleave(3, dim=1) * (2 * torch.sigmoid(parts.c) - 1)
    assert torch.allclose(parts.h, expected)


def test_the_constant_error_carousel_keeps_a_state_for_a_thousand_steps():
    """Input gate shut (bias −30): 1,000 steps later the state is what it was, to float precision."""
    cell = LSTM1997Cell(2, 2, input_bias=-30.0).double()
    start = LSTM1997State(torch.zeros(4, 2, dtype=torch.float64),
                          torch.tensor([[1.0, -0.5]] * 4, dtype=torch.float64))
    _, state = cell.sequence(torch.randn(1000, 4, 2, dtype=torch.float64), start)
    assert torch.allclose(state.c, start.c, atol=1e-9)


def test_the_forget_gate_lets_the_state_decay():
    cell = LSTM1997Cell(2, 2, forget_gate=True, forget_bias=-5.0, input_bias=-30.0).double()
    start = LSTM1997State(torch.zeros(4, 2, dtype=torch.float64), torch.ones(4, 2, dtype=torch.float64))
    _, state = cell.sequence(torch.randn(20, 4, 2, dtype=torch.float64), start)
    assert float(state.c.detach().abs().max()) < 1e-10


def test_parameter_shapes_and_counts():
    cell = LSTM1997Cell(8, 4, block_size=2)  # the paper's "2 memory-cell blocks of size 2", 8 inputs
    assert cell.weight_ih.shape == (2 + 2 + 4, 8)
    assert cell.weight_hh.shape == (8, 4)
    assert cell.bias.shape == (8,)
    gated = LSTM1997Cell(8, 4, block_size=2, forget_gate=True, peepholes=True, gate_feedback=True)
    assert gated.weight_ih.shape == (3 * 2 + 4, 8)
    assert gated.weight_hh.shape == (10, 4 + 6)
    assert gated.peephole_in.shape == gated.peephole_forget.shape == gated.peephole_out.shape == (2, 2)
    assert gated.state_sizes == (4, 4, 6)


def test_initial_weights_and_the_papers_gate_biases():
    torch.manual_seed(0)
    cell = LSTM1997Cell(5, 8, block_size=2, init_range=0.2, output_bias=[-1, -2, -3, -4], input_bias=-0.5)
    assert float(cell.weight_ih.detach().abs().max()) <= 0.2 and float(cell.weight_hh.detach().abs().max()) <= 0.2
    assert cell.bias[cell.rows("out")].tolist() == [-1, -2, -3, -4]
    assert cell.bias[cell.rows("in")].tolist() == [-0.5] * 4
    assert float(cell.bias[cell.rows("cell")].detach().abs().max()) <= 0.2


@pytest.mark.parametrize("options", [{}, {"block_size": 2}, {"block_size": 2, "forget_gate": True},
                                     {"block_size": 2, "forget_gate": True, "peepholes": True, "gate_feedback": True},
                                     {"cell_output": "identity"}])
def test_the_hoisted_sequence_equals_the_reference_loop_with_padding(options):
    torch.manual_seed(1)
    cell = LSTM1997Cell(3, 4, **options).double()
    x = torch.randn(9, 5, 3, dtype=torch.float64)
    lengths = torch.tensor([9, 7, 5, 3, 1])
    state = cell.initial_state(5)
    y, final = cell.sequence(x, state, lengths)
    y_ref, final_ref = cell.loop(x, state, lengths)
    real = (torch.arange(9).unsqueeze(1) < lengths).unsqueeze(2)
    assert torch.allclose(y * real, y_ref * real, atol=1e-12)
    for a, b in zip(final, final_ref):
        assert torch.allclose(a, b, atol=1e-12)


def test_gradcheck_through_a_sequence_with_every_option():
    torch.manual_seed(2)
    cell = LSTM1997Cell(2, 4, block_size=2, forget_gate=True, peepholes=True, gate_feedback=True).double()
    x = torch.randn(4, 3, 2, dtype=torch.float64, requires_grad=True)

    def run(x, *parameters):  # the parameters are the cell's own tensors, perturbed in place by gradcheck
        y, state = cell.sequence(x, cell.initial_state(3), torch.tensor([4, 3, 2]))
        return y.sum() + state.c.square().sum() + state.gates.sum()

    assert torch.autograd.gradcheck(run, (x, *cell.parameters()))


@pytest.mark.parametrize("options", [{}, {"block_size": 2}, {"block_size": 3, "forget_gate": True},
                                     {"block_size": 2, "gate_feedback": True},
                                     {"block_size": 3, "forget_gate": True, "gate_feedback": True},
                                     {"block_size": 2, "cell_output": "identity"},
                                     {"block_size": 3, "forget_gate": True, "gate_feedback": True,
                                      "cell_output": "identity"}])
def test_gradcheck_of_the_kernel(options):
    """The hand-written backward of lstm1997_scan.py against numerical derivatives, every input and weight, with
    gradients arriving at the outputs and at the final state (padded sequences)."""
    torch.manual_seed(3)
    cell = LSTM1997Cell(2, 6, **options).double()
    x = torch.randn(5, 3, 2, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(3, 6, dtype=torch.float64, requires_grad=True)
    c0 = torch.randn(3, 6, dtype=torch.float64, requires_grad=True)
    weights = torch.randn(5, 3, 6, dtype=torch.float64)

    gates0 = torch.rand(3, cell.gate_count, dtype=torch.float64, requires_grad=True)

    def run(x, h0, c0, gates0, *parameters):
        start = LSTM1997GatedState(h0, c0, gates0) if cell.gate_feedback else LSTM1997State(h0, c0)
        y, state = cell.sequence(x, start, torch.tensor([5, 4, 2]))
        extra = state.gates.square().sum() if cell.gate_feedback else 0.0
        return (y * weights).sum() + state.c.square().sum() + state.h.sum() + extra

    assert torch.autograd.gradcheck(run, (x, h0, c0, gates0, *cell.parameters()))


@pytest.mark.parametrize("feedback", [False, True])
def test_the_kernel_equals_the_loop_values_and_gradients(feedback):
    torch.manual_seed(4)
    cell = LSTM1997Cell(3, 4, block_size=2, forget_gate=True, gate_feedback=feedback).double()
    x = torch.randn(30, 4, 3, dtype=torch.float64)
    lengths = torch.tensor([30, 21, 9, 1])
    results = []
    for run in (cell.sequence, cell.loop):
        cell.zero_grad()
        y, state = run(x, cell.initial_state(4), lengths)
        real = (torch.arange(30).unsqueeze(1) < lengths).unsqueeze(2)
        ((y * real).square().sum() + state.c.sum()).backward()
        results.append([y * real, *state, *[p.grad.clone() for p in cell.parameters()]])
    for a, b in zip(*results):
        assert torch.allclose(a, b, atol=1e-12)


def test_gated_state_carries_the_gates():
    cell = LSTM1997Cell(3, 4, block_size=2, gate_feedback=True)
    _, state = cell(torch.randn(2, 3), cell.initial_state(2))
    assert isinstance(state, LSTM1997GatedState)
    assert state.gates.shape == (2, 4)
    assert bool(((state.gates > 0) & (state.gates < 1)).all())


def test_as_a_layer_and_from_the_registry():
    layer = rnnlab.Recurrent("lstm1997", 3, 4, block_size=2, forget_gate=True)
    y, (h, c) = layer(torch.randn(6, 2, 3))
    assert y.shape == (6, 2, 4) and h.shape == c.shape == (1, 2, 4)
    assert "lstm1997" in rnnlab.cells.available()
    assert "1997" in rnnlab.cells.describe("lstm1997")


@pytest.mark.parametrize("options, error, message", [
    ({"block_size": 3}, ValueError, r"block_size must be a positive int dividing hidden_size = 4"),
    ({"block_size": 0}, ValueError, r"block_size must be a positive int"),
    ({"forget_bias": 1.0}, ValueError, r"forget_bias needs forget_gate=true"),
    ({"output_bias": [-1, -2, -3]}, ValueError, r"output_bias must be a number or a list of 4 numbers"),
    ({"output_bias": -1.0, "bias": False}, ValueError, r"output_bias needs bias=True"),
    ({"forget_gate": "yes"}, TypeError, r"forget_gate must be true or false; got 'yes'"),
    ({"init_range": 0}, ValueError, r"init_range must be a positive number; got 0"),
    ({"cell_output": "linear"}, ValueError, r"cell_output must be one of squashed, identity; got 'linear'"),
])
def test_bad_options_are_refused_with_a_message(options, error, message):
    with pytest.raises(error, match=message):
        LSTM1997Cell(3, 4, **options)


def test_identity_cell_output_reads_the_state_through_the_output_gate():
    """h = y^out · s_c with ``cell_output = "identity"`` (§5.2: h the identity in Experiments 2a and 2b)."""
    torch.manual_seed(5)
    cell = LSTM1997Cell(3, 4, block_size=2, cell_output="identity")
    parts = cell.parts(torch.randn(2, 3), cell.initial_state(2)._replace(c=torch.full((2, 4), 50.0)))
    gates = parts.out_gate.repeat_interleave(2, dim=1)  # (B, H): each block's gate over its cells
    assert torch.allclose(parts.h, gates * parts.c)
    assert float(parts.h.abs().max()) > 1.0  # not squashed into [-1, 1]

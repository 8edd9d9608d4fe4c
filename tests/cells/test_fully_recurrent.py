"""The fully recurrent cell (Williams & Zipser 1989): its equations by hand, the whole-sequence kernel against
autograd (gradcheck) and against the reference loop, visible units in every topology, teacher forcing, and the
messages of bad options and inputs."""

from __future__ import annotations

import math
import re

import pytest
import torch

import rnnlab
from rnnlab.cells import FullyRecurrentCell, FullyRecurrentState

D = torch.float64


def _logistic(v: float) -> float:
    return 1 / (1 + math.exp(-v))


# n = 3 units, m = 2 inputs: w_kl for l ∈ U (weight_hh), l ∈ I (weight_ih), and the bias line
W_HH = [[0.5, -0.3, 0.8], [0.2, 0.1, -0.6], [-0.7, 0.4, 0.3]]
W_IH = [[0.9, -0.2], [0.3, 0.6], [-0.5, 0.1]]
BIAS = [0.1, -0.2, 0.05]


def hand_cell(nonlinearity="logistic", visible=None) -> FullyRecurrentCell:
    cell = rnnlab.cells.create("fully_recurrent", 2, 3, nonlinearity=nonlinearity, visible=visible).double()
    with torch.no_grad():
        cell.weight_hh.copy_(torch.tensor(W_HH, dtype=D))
        cell.weight_ih.copy_(torch.tensor(W_IH, dtype=D))
        cell.bias.copy_(torch.tensor(BIAS, dtype=D))
    return cell


def by_hand(x: list[float], y: list[float], f) -> list[float]:
    """y_k(t+1) = f(s_k(t)), s_k(t) = Σ_{l ∈ U ∪ I} w_kl z_l(t) (eqs. 1-2), z = (y, x, 1), with math.* only."""
    z = y + x + [1.0]
    weights = [W_HH[k] + W_IH[k] + [BIAS[k]] for k in range(3)]  # row k of W = [w_kl], l over U, I, bias
    return [f(sum(w * v for w, v in zip(weights[k], z))) for k in range(3)]


@pytest.mark.parametrize("nonlinearity, f", [("logistic", _logistic), ("tanh", math.tanh)])
def test_two_steps_equal_the_papers_equations_by_hand(nonlinearity, f):
    """y(1) from y(0) = (0.2, -0.4, 0.6) and x(0), then y(2) from y(1) and x(1): one step and the sequence."""
    cell = hand_cell(nonlinearity)
    xs, y0 = [[0.7, -1.1], [0.3, 0.5]], [0.2, -0.4, 0.6]
    y1 = by_hand(xs[0], y0, f)
    y2 = by_hand(xs[1], y1, f)
    out, state = cell(torch.tensor([xs[0]], dtype=D), torch.tensor([y0], dtype=D))
    assert torch.allclose(state, torch.tensor([y1], dtype=D), atol=1e-14) and torch.equal(out, state)
    ys, final = cell.sequence(torch.tensor(xs, dtype=D).unsqueeze(1), torch.tensor([y0], dtype=D))
    assert torch.allclose(ys[:, 0], torch.tensor([y1, y2], dtype=D), atol=1e-14)
    assert torch.equal(final, ys[-1])


def test_visible_units_are_the_first_k_and_the_output():
    cell = hand_cell(visible=2)
    x, y0 = [0.7, -1.1], [0.2, -0.4, 0.6]
    y1 = by_hand(x, y0, _logistic)
    state0 = FullyRecurrentState(torch.tensor([y0[:2]], dtype=D), torch.tensor([y0[2:]], dtype=D))
    out, state = cell(torch.tensor([x], dtype=D), state0)
    assert isinstance(state, FullyRecurrentState)
    assert torch.allclose(state.visible, torch.tensor([y1[:2]], dtype=D), atol=1e-14)
    assert torch.allclose(state.hidden, torch.tensor([y1[2:]], dtype=D), atol=1e-14)
    assert torch.equal(out, state.visible)
    assert (cell.output_size, cell.state_sizes, cell.hidden_size) == (2, (2, 1), 3)
    assert torch.allclose(cell.units(state), torch.tensor([y1], dtype=D), atol=1e-14)
    again = cell.split_units(cell.units(state))
    assert isinstance(again, FullyRecurrentState) and all(torch.equal(a, b) for a, b in zip(again, state))


def test_defaults_every_unit_visible_logistic_and_weights_in_the_init_range():
    cell = rnnlab.cells.create("fully_recurrent", 4, 25)
    assert (cell.nonlinearity, cell.visible, cell.output_size, cell.state_sizes) == ("logistic", 25, 25, (25,))
    assert cell.state_type is None
    assert [name for name, _ in cell.named_parameters()] == ["weight_ih", "weight_hh", "bias"]
    for p in cell.parameters():
        assert p.abs().max() <= 1 / 5 and p.std() > 0.05  # U(−1/√n, 1/√n), n = 25
    assert rnnlab.cells.create("fully_recurrent", 4, 25, bias=False).bias is None
    assert "Williams & Zipser (1989)" in rnnlab.cells.describe("fully_recurrent")


def test_f_prime_is_the_derivative_read_from_the_output():
    s = torch.linspace(-3, 3, 13, dtype=D, requires_grad=True)
    for nonlinearity in ("logistic", "tanh"):
        cell = rnnlab.cells.create("fully_recurrent", 1, 2, nonlinearity=nonlinearity)
        y = cell.f(s)
        (grad,) = torch.autograd.grad(y.sum(), s)
        assert torch.allclose(cell.f_prime(y.detach()), grad, atol=1e-14)


# ---- the whole-sequence kernel ---------------------------------------------------------------------

def _leaf(*shape):
    return torch.randn(*shape, dtype=D, requires_grad=True)


def test_a_second_derivative_is_refused_not_silently_wrong():
    layer = rnnlab.Recurrent("fully_recurrent", 2, 4, dtype=D)
    x = _leaf(5, 3, 2)
    y, _ = layer(x)
    (grad,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="twice|once_differentiable|does not require grad"):
        torch.autograd.grad(grad.sum(), layer.cells[0].weight_hh)


def _forward_backward(layer, x, hx, lengths):
    for p in layer.parameters():
        p.grad = None
    x = x.clone().requires_grad_(True)
    hx = tuple(h.clone().requires_grad_(True) for h in hx)
    out, h_n = layer(x, hx if len(hx) > 1 else hx[0], lengths=lengths)
    finals = [h_n] if isinstance(h_n, torch.Tensor) else list(h_n)
    gen = torch.Generator().manual_seed(7)
    torch.autograd.backward([out, *finals], [torch.randn(t.shape, generator=gen, dtype=D) for t in [out, *finals]])
    return [out, *finals, x.grad, *(h.grad for h in hx), *(p.grad for p in layer.parameters())]


@pytest.mark.parametrize("options", [{"visible": 2}, {"visible": 2, "nonlinearity": "tanh"}, {"visible": 5},
                                     {"visible": 1, "bias": False}], ids=str)
def test_fast_path_equals_the_reference_loop_with_visible_units(options):
    """Two layers, both directions, a padded batch, a given initial state: outputs, final states and every gradient."""
    torch.manual_seed(3)
    fast = rnnlab.Recurrent("fully_recurrent", 3, 5, num_layers=2, bidirectional=True, dtype=D, **options)
    reference = rnnlab.Recurrent("fully_recurrent", 3, 5, num_layers=2, bidirectional=True, dtype=D, **options)
    reference.load_state_dict(fast.state_dict())
    reference.fast_paths = False
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(6, 4, 3, generator=gen, dtype=D)
    hx = [torch.randn(4, 4, size, generator=gen, dtype=D) for size in fast.cells[0].state_sizes]
    lengths = torch.tensor([6, 2, 5, 1])
    got = _forward_backward(fast, x, hx, lengths)
    expected = _forward_backward(reference, x, hx, lengths)
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    k = options["visible"]
    assert got[0].shape == (6, 4, 2 * k)  # both directions' visible units


# ---- visible units in every topology ----------------------------------------------------------------

def test_every_topology_runs_with_hidden_units():
    """The state's first field is the visible units (the output), as the decoders' attention and context need."""
    from rnnlab.models import LanguageModel, SequenceClassifier, SequenceTagger
    from rnnlab.models.generator import SequenceGenerator
    from rnnlab.models.seq2seq import Seq2Seq
    from rnnlab.tasks.base import EOS

    torch.manual_seed(0)
    x = torch.randn(6, 4, 3)
    targets = torch.randint(3, 7, (5, 4))
    targets[-1] = EOS
    for context in ("state", "input", "both"):
        model = Seq2Seq("fully_recurrent", 3, 7, 8, num_layers=2, context=context, attention=True,
                        bidirectional_encoder=True, visible=3)
        logits, state = model(x, torch.tensor([6, 2, 4, 1]), targets=targets)
        assert logits.shape == (5, 4, 7) and isinstance(state, FullyRecurrentState)
        assert state.visible.shape == (2, 4, 3) and state.hidden.shape == (2, 4, 5)
        tokens, _ = model.decode(x, torch.tensor([6, 2, 4, 1]), beam_size=2, max_length=4)
        assert tokens.shape[1] == 4
        generator = SequenceGenerator("fully_recurrent", 3, 7, 8, context=context, visible=3)
        assert generator(x[0], targets=targets)[0].shape == (5, 4, 7)
    assert SequenceClassifier("fully_recurrent", 3, 8, 2, visible=3)(x)[0].shape == (4, 2)
    assert SequenceTagger("fully_recurrent", 3, 8, 2, visible=3, bidirectional=True)(x)[0].shape == (6, 4, 2)
    lm = LanguageModel("fully_recurrent", 10, 8, visible=3, tie_weights=True)  # embedding = the 3 visible units
    assert lm(torch.randint(0, 10, (5, 2)))[0].shape == (5, 2, 10)
    stack = rnnlab.Recurrent("fully_recurrent", 3, 8, num_layers=2, visible=3)
    assert stack.cells[1].input_size == 3  # the next layer reads the visible units


def test_the_papers_use_without_a_readout_learns_a_delayed_copy():
    """n = 4 logistic units, 1 visible, no readout: y(t+1) ≈ x(t−1), a two-step delay (Williams & Zipser's
    networks learn such shift registers); the loss is on the visible unit itself."""
    torch.manual_seed(0)
    layer = rnnlab.Recurrent("fully_recurrent", 1, 4, visible=1)
    optimizer = torch.optim.Adam(layer.parameters(), lr=0.05)
    gen = torch.Generator().manual_seed(1)
    for _ in range(300):
        bits = torch.randint(0, 2, (12, 16, 1), generator=gen).float()
        y, _ = layer(bits)
        loss = ((y[1:] - bits[:-1]) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    bits = torch.randint(0, 2, (12, 64, 1), generator=gen).float()
    y, _ = layer(bits)
    assert ((y[1:] > 0.5).float() == bits[:-1]).float().mean() > 0.99


# ---- teacher forcing ------------------------------------------------------------------------------------

def test_teacher_forcing_by_hand():
    """visible = 2 of 3 units: step 1 reads the targets in place of the visible units of step 0, where given."""
    cell = hand_cell(visible=2)
    xs, y0 = [[0.7, -1.1], [0.3, 0.5]], [0.2, -0.4, 0.6]
    nan = float("nan")
    targets = torch.tensor([[[1.0, nan]], [[nan, 0.0]]], dtype=D)  # (T=2, B=1, k=2)
    y1 = by_hand(xs[0], y0, _logistic)
    forced = [1.0, y1[1], y1[2]]  # unit 0 forced to its target, unit 1 has none at this step
    y2 = by_hand(xs[1], forced, _logistic)
    state0 = FullyRecurrentState(torch.tensor([y0[:2]], dtype=D), torch.tensor([y0[2:]], dtype=D))
    outputs, final = cell.teacher_forced(torch.tensor(xs, dtype=D).unsqueeze(1), targets, state0)
    assert torch.allclose(outputs[:, 0], torch.tensor([y1[:2], y2[:2]], dtype=D), atol=1e-14)  # unforced values
    assert torch.allclose(final.visible, torch.tensor([[y2[0], 0.0]], dtype=D), atol=1e-14)  # unit 1 forced to 0
    assert torch.allclose(final.hidden, torch.tensor([[y2[2]]], dtype=D), atol=1e-14)


def test_no_targets_is_the_free_running_sequence_and_lengths_stop_the_state():
    torch.manual_seed(0)
    cell = rnnlab.cells.create("fully_recurrent", 2, 4, visible=2).double()
    x = torch.randn(5, 3, 2, dtype=D)
    state = cell.split_units(torch.rand(3, 4, dtype=D))
    free, free_final = cell.sequence(x, state, torch.tensor([5, 2, 4]))
    forced, forced_final = cell.teacher_forced(x, torch.full((5, 3, 2), float("nan"), dtype=D), state,
                                               lengths=[5, 2, 4])
    real = torch.arange(5).unsqueeze(1) < torch.tensor([5, 2, 4])  # (T, B): outputs past the end mean nothing
    torch.testing.assert_close(forced[real], free[real], rtol=1e-13, atol=1e-13)
    for a, b in zip(forced_final, free_final):
        torch.testing.assert_close(a, b, rtol=1e-13, atol=1e-13)


def test_no_gradient_flows_through_a_forced_unit():
    """Every unit visible and forced at every step: y(t+1) depends on x(t) and on the targets only, not on
    x(t − 1) (the paper's p^k_ij(t) = 0 for the forced units)."""
    torch.manual_seed(0)
    cell = rnnlab.cells.create("fully_recurrent", 2, 3).double()
    x = torch.randn(4, 2, 2, dtype=D, requires_grad=True)
    targets = torch.rand(4, 2, 3, dtype=D)
    outputs, _ = cell.teacher_forced(x, targets)
    (grad,) = torch.autograd.grad(outputs[2].sum(), x)
    assert (grad[:2] == 0).all() and (grad[2] != 0).any() and (grad[3] == 0).all()
    free, _ = cell.sequence(x, cell.initial_state(2))
    (grad_free,) = torch.autograd.grad(free[2].sum(), x)
    assert (grad_free[:2] != 0).any()  # without forcing the earlier inputs count


def test_teacher_forcing_checks_its_inputs():
    cell = rnnlab.cells.create("fully_recurrent", 2, 4, visible=3)
    x = torch.zeros(5, 3, 2)
    with pytest.raises(ValueError, match=re.escape("expects x of shape (T, B, 2) float; got (5, 3, 1)")):
        cell.teacher_forced(torch.zeros(5, 3, 1), torch.zeros(5, 3, 3))
    message = "expects targets of shape (T, B, visible=3) = (5, 3, 3) float (NaN where a unit has no target); " \
              "got (5, 3, 4)"
    with pytest.raises(ValueError, match=re.escape(message)):
        cell.teacher_forced(x, torch.zeros(5, 3, 4))
    with pytest.raises(TypeError, match=re.escape("must have the parameters' dtype torch.float32")):
        cell.teacher_forced(x, torch.zeros(5, 3, 3, dtype=D))
    with pytest.raises(ValueError, match=re.escape("expects a state of 4 units for 3 sequences; got (2, 4)")):
        cell.teacher_forced(x, torch.zeros(5, 3, 3), torch.zeros(2, 4))


# ---- bad options and inputs -------------------------------------------------------------------------------

@pytest.mark.parametrize("visible", [0, 6, -1, True, 2.5, "2"])
def test_bad_visible_is_refused(visible):
    message = f"visible must be an int in [1, hidden_size=5] (the first units are the visible ones) or None " \
              f"(all of them); got {visible!r}"
    with pytest.raises(ValueError, match=re.escape(message)):
        rnnlab.cells.create("fully_recurrent", 3, 5, visible=visible)
    with pytest.raises(ValueError, match=re.escape(message)):
        rnnlab.Recurrent("fully_recurrent", 3, 5, visible=visible)


def test_bad_nonlinearity_and_unknown_options_are_refused():
    with pytest.raises(ValueError, match=re.escape("nonlinearity must be one of 'logistic', 'tanh'; got 'relu'")):
        rnnlab.cells.create("fully_recurrent", 3, 5, nonlinearity="relu")
    with pytest.raises(TypeError, match="cell 'fully_recurrent' does not take the option 'proj_size'"):
        rnnlab.cells.create("fully_recurrent", 3, 5, proj_size=2)


def test_one_step_checks_the_state_of_hidden_units():
    cell = rnnlab.cells.create("fully_recurrent", 3, 5, visible=2)
    x = torch.zeros(4, 3)
    with pytest.raises(TypeError, match=re.escape("expects the state as FullyRecurrentState(visible, hidden); "
                                                  "got Tensor")):
        cell(x, torch.zeros(4, 5))
    with pytest.raises(ValueError, match=re.escape("expects state.hidden of shape (4, 3) for x_t of shape (4, 3); "
                                                   "got (4, 2)")):
        cell(x, FullyRecurrentState(torch.zeros(4, 2), torch.zeros(4, 2)))

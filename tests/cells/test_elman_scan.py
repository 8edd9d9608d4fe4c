"""The Elman network's whole-sequence kernel (also the fully recurrent network's): its hand-written
backward against autograd (gradcheck, float64), and the layer on it against torch.nn.RNN."""

import pytest
import torch

import rnnlab
from rnnlab.cells.elman_scan import ACTIVATIONS, ElmanScan

D = torch.float64


def _leaf(*shape):
    return torch.randn(*shape, dtype=D, requires_grad=True)


@pytest.mark.parametrize("steps", [1, 6])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("biases", [(True, True), (True, False), (False, False)],
                         ids=["two biases", "one bias", "no bias"])
def test_scan_gradcheck(steps, activation, biases):
    torch.manual_seed(0)
    bias_ih, bias_hh = (_leaf(4) if wanted else None for wanted in biases)
    args = (_leaf(steps, 3, 2), _leaf(4, 2), bias_ih, _leaf(3, 4), _leaf(4, 4), bias_hh, activation)
    assert torch.autograd.gradcheck(ElmanScan.apply, args)


def test_scan_skips_the_input_gradient_when_not_needed():
    torch.manual_seed(0)
    x = torch.randn(5, 3, 2, dtype=D)
    params = [_leaf(4, 2), _leaf(4), _leaf(3, 4), _leaf(4, 4), _leaf(4)]
    ElmanScan.apply(x, *params, "tanh").sum().backward()
    assert x.grad is None and all(p.grad is not None for p in params)


def test_an_unknown_activation_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="one of logistic, tanh, relu; got 'gelu'"):
        ElmanScan.apply(torch.zeros(2, 1, 1), torch.zeros(1, 1), None, torch.zeros(1, 1), torch.zeros(1, 1), None,
                        "gelu")


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("layers, bidirectional", [(1, False), (2, True)])
def test_the_rnn_twin_runs_the_scan_on_cpu_and_matches_torch(nonlinearity, layers, bidirectional, monkeypatch):
    calls = []
    apply = ElmanScan.apply
    monkeypatch.setattr(ElmanScan, "apply", lambda *args: calls.append(1) or apply(*args))
    torch.manual_seed(0)
    reference = torch.nn.RNN(3, 5, layers, nonlinearity=nonlinearity, bidirectional=bidirectional, dtype=D)
    ours = rnnlab.RNN(3, 5, layers, nonlinearity=nonlinearity, bidirectional=bidirectional, dtype=D)
    ours.load_state_dict(reference.state_dict())
    x = torch.randn(7, 4, 3, dtype=D)
    h0 = torch.randn(layers * (2 if bidirectional else 1), 4, 5, dtype=D)
    x_ours, x_ref = x.clone().requires_grad_(), x.clone().requires_grad_()
    y, h_n = ours(x_ours, h0)
    y_ref, h_ref = reference(x_ref, h0)
    torch.testing.assert_close(y, y_ref)
    torch.testing.assert_close(h_n, h_ref)
    (y.sum() + h_n.square().sum()).backward()
    (y_ref.sum() + h_ref.square().sum()).backward()
    torch.testing.assert_close(x_ours.grad, x_ref.grad)
    for (name, p), p_ref in zip(ours.named_parameters(), reference.parameters()):
        torch.testing.assert_close(p.grad, p_ref.grad, msg=name)
    assert len(calls) == layers * (2 if bidirectional else 1)  # one scan per layer and direction


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_the_kernel_sums_in_the_steps_order_so_it_equals_the_plain_loop_in_float32(nonlinearity):
    """Weights of U(−1, 1), as weight guessing draws them, over 500 steps: the recurrence amplifies any change
    of summation order (with the two biases summed first, the outputs differed from the loop's by 1.8e-6 here);
    taken in the cell's order, the kernel's outputs are the plain loop's (measured: identical)."""
    torch.manual_seed(0)
    layer = rnnlab.RNN(2, 8, nonlinearity=nonlinearity)
    with torch.no_grad():
        for p in layer.parameters():
            p.uniform_(-1, 1)
    x = torch.randn(500, 3, 2)
    fast, _ = layer(x)
    layer.fast_paths = False
    loop, _ = layer(x)
    torch.testing.assert_close(fast, loop, rtol=0, atol=1e-7)

"""The NTM's fast paths against its autograd reference path: values and gradients in float64, and gradcheck.

Three paths compute the same function (ntm.py): the whole sequence in one node for a one-layer LSTM
controller (sequence.py), one node per step for the heads and the memory (fused.py) for every other
controller, and every operation through autograd (``NTM.fused = False``: heads.py, addressing.py).
"""

import pytest
import torch
from torch.func import functional_call

from rnnlab.memory import NTM
from rnnlab.memory.fused import heads_step
from rnnlab.memory.sequence import LSTMControllerSequence


def model_pair(controller="lstm", *, seed=0, **options):
    """(fast, reference): the same weights, float64, N = 5 slots of width M = 3, I = 3, O = 2."""
    torch.manual_seed(seed)
    sizes = dict(input_size=3, output_size=2, controller_size=6, memory_slots=5, memory_width=3)
    fast = NTM(controller=controller, **{**sizes, **options}).to(torch.float64)
    reference = NTM(controller=controller, **{**sizes, **options}).to(torch.float64)
    reference.load_state_dict(fast.state_dict())
    reference.fused = False
    return fast, reference


def run(model, x, lengths, state_grads):
    """Values and gradients (x, every parameter, the initial memory, reads and weights) of a loss that reads the
    outputs and every field of the final state."""
    state = model.initial_state(x.shape[1], dtype=x.dtype)
    generator = torch.Generator().manual_seed(7)
    initial = dict(memory=state.memory + 0.1 * torch.randn(state.memory.shape, generator=generator,
                                                           dtype=x.dtype),
                   reads=state.reads + 0.1, read_weights=torch.softmax(torch.randn(
                       state.read_weights.shape, generator=generator, dtype=x.dtype), -1))
    initial = {k: v.detach().requires_grad_(state_grads) for k, v in initial.items()}
    x = x.detach().requires_grad_()
    y, final = model(x, state._replace(**initial), lengths=lengths)
    loss = (y.sin() * torch.linspace(-1, 2, y.numel(), dtype=x.dtype).view_as(y)).sum() \
        + (final.memory ** 2).sum() + final.reads.sum() + (final.read_weights * 3).sum() \
        + final.write_weights[..., 0].sum()
    if final.controller is not None:
        loss = loss + sum(f.sum() for c in final.controller for f in c)
    loss.backward()
    grads = [x.grad] + [p.grad for _, p in sorted(model.named_parameters())]
    if state_grads:
        grads += [initial[k].grad for k in sorted(initial)]
    return [y, *final[:4]], grads


CASES = [
    ("lstm", dict(), None),  # the whole-sequence path, the paper's NTM
    ("lstm", dict(write_heads=2, read_heads=2, shift_range=2, memory_init="learned"), torch.tensor([4, 2, 6])),
    ("lstm", dict(gradient_clip=1e-3, clip_controller=0.5), torch.tensor([6, 1, 3])),  # both clips active
    ("lstm", dict(gradient_clip=None, clip_controller=None, shift_range=0), None),
    ("gru", dict(write_heads=3), torch.tensor([2, 6, 5])),  # one node a step
    ("feedforward", dict(gradient_clip=1e-2, memory_init="random"), None),
    ("lstm", dict(controller_layers=2), None),  # two layers: one node a step
]


@pytest.mark.parametrize("controller, options, lengths", CASES)
def test_values_and_gradients_equal_the_autograd_path(controller, options, lengths):
    fast, reference = model_pair(controller, **options)
    assert fast._whole_sequence() == (controller == "lstm" and options.get("controller_layers", 1) == 1)
    x = torch.randn(6, 3, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    values, grads = run(fast, x, lengths, state_grads=True)
    values_ref, grads_ref = run(reference, x, lengths, state_grads=True)
    for a, b in zip(values, values_ref):
        assert torch.allclose(a, b, atol=1e-12, rtol=0), (a - b).abs().max()
    assert len(grads) == len(grads_ref)
    for a, b in zip(grads, grads_ref):
        assert (a is None) == (b is None)
        if a is not None:
            assert torch.allclose(a, b, atol=1e-11, rtol=1e-10), (a - b).abs().max()


def test_the_clips_act_in_the_compared_cases():
    """The case with both clips: the gradient clip and the clamp of the head parameters change the gradients (so
    the test above compares the clipped gradients, not unclipped ones that agree by accident)."""
    fast, _ = model_pair("lstm", gradient_clip=1e-3, clip_controller=0.5)
    loose, _ = model_pair("lstm", gradient_clip=None, clip_controller=0.5)
    x = torch.randn(6, 3, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert not torch.allclose(run(fast, x, None, True)[1][0], run(loose, x, None, True)[1][0])
    raw = fast.heads.linear(torch.randn(4, 6, dtype=torch.float64))
    assert (raw.abs() > 0.5).any()


def test_the_trace_equals_the_autograd_paths():
    fast, reference = model_pair("lstm", write_heads=2)
    x = torch.randn(5, 2, 3, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    for a, b in zip(fast(x, return_weights=True)[2], reference(x, return_weights=True)[2]):
        assert a.shape == b.shape and torch.allclose(a, b, atol=1e-12, rtol=0)


@pytest.mark.parametrize("sizes, clip", [((1, 1, 3, 1), 20.0), ((2, 3, 2, 2), None), ((1, 2, 3, 0), 1.5)])
def test_heads_step_passes_gradcheck(sizes, clip):
    R, W, M, s = sizes
    H, N, B = R + W, 6, 2
    P = H * M + 3 * H + H * (2 * s + 1) + 2 * W * M
    generator = torch.Generator().manual_seed(0)
    memory = torch.randn(B, N, M, generator=generator, dtype=torch.float64, requires_grad=True)
    previous = torch.softmax(torch.randn(B, H, N, generator=generator, dtype=torch.float64), -1).requires_grad_()
    raw = (2 * torch.randn(B, P, generator=generator, dtype=torch.float64)).requires_grad_()
    if clip is not None:  # keep every input away from the clamp's kinks, where the derivative jumps
        raw.data[(raw.data.abs() - clip).abs() < 0.1] *= 0.5
    assert torch.autograd.gradcheck(lambda m, p, r: heads_step(m, p, r, sizes, clip, None), (memory, previous, raw),
                                    fast_mode=True)


@pytest.mark.parametrize("last", [None, torch.tensor([1, 3])])
def test_the_whole_sequence_passes_gradcheck(last):
    fast, _ = model_pair("lstm", read_heads=2, controller_size=4)
    cell, heads = fast.controller[0], fast.heads.linear
    generator = torch.Generator().manual_seed(0)
    B, T = 2, 4

    def rand(*shape):
        return torch.randn(*shape, generator=generator, dtype=torch.float64).requires_grad_()

    x, memory, reads, h, c = rand(T, B, 3), rand(B, 5, 3), rand(B, 2, 3), rand(B, 4), rand(B, 4)
    weights = torch.softmax(torch.randn(B, 3, 5, generator=generator, dtype=torch.float64), -1).requires_grad_()
    params = [p.detach().clone().requires_grad_() for p in (cell.weight_ih, cell.bias_ih, cell.weight_hh,
                                                            cell.bias_hh, heads.weight, heads.bias)]

    def f(*inputs):
        outputs = LSTMControllerSequence.apply(*inputs, (2, 1, 3, 1), 20.0, None, last)
        return tuple(o for i, o in enumerate(outputs) if i != 4)  # z (index 4) carries no gradient

    assert torch.autograd.gradcheck(f, (x, memory, weights, reads, h, c, *params), fast_mode=True)


def test_the_sequence_path_is_taken_and_keeps_the_parameters_names():
    fast, reference = model_pair("lstm")
    assert fast._whole_sequence() and not reference._whole_sequence()
    assert fast.state_dict().keys() == reference.state_dict().keys()
    projected, _ = model_pair("lstm", proj_size=2)
    assert not projected._whole_sequence()  # a projection: one node a step
    y, _ = projected(torch.randn(3, 2, 3, dtype=torch.float64))
    assert y.shape == (3, 2, 2)


def test_functional_call_reaches_the_sequence_path():
    """Weights substituted by torch.func.functional_call (as the gradcheck tests do) are the ones used."""
    fast, _ = model_pair("lstm")
    x = torch.randn(3, 2, 3, dtype=torch.float64)
    zeros = {n: torch.zeros_like(p) for n, p in fast.named_parameters()}
    y, _ = functional_call(fast, zeros, (x,))
    assert torch.equal(y, torch.zeros_like(y))

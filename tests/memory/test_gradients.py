"""The NTM's gradient clip inside the backward pass: identity forward, elementwise clamp backward."""

import math

import pytest
import torch
from torch.func import functional_call

from rnnlab.config import build_config
from rnnlab.memory import NTM, fused, sequence
from rnnlab.memory.gradients import check_bound, clip_gradient
from rnnlab.memory.ntm import GRADIENT_CLIP
from rnnlab.runs import build_model, build_task


def tiny(*, seed=0, **options) -> NTM:
    """N = 4 slots of width M = 3, LSTM controller of 5 units, I = O = 2, float64."""
    torch.manual_seed(seed)
    sizes = dict(input_size=2, output_size=2, controller_size=5, memory_slots=4, memory_width=3)
    return NTM(**{**sizes, **options}).to(torch.float64)


def inputs(steps, batch, *, seed=1):
    return torch.randn(steps, batch, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# ---- the function alone: a hand-computed table -------------------------------------------------------------------
@pytest.mark.parametrize("upstream, bound, expected", [
    ([3.0, -0.2, -7.0, 0.5], 0.5, [0.5, -0.2, -0.5, 0.5]),
    ([math.inf, -math.inf, 0.0, 1e30], 2.0, [2.0, -2.0, 0.0, 2.0]),
    ([3.0, -0.2, -7.0, 0.5], 10.0, [3.0, -0.2, -7.0, 0.5]),
])
def test_the_gradient_is_clamped_elementwise(upstream, bound, expected):
    x = torch.tensor([1.0, -2.0, 3.0, 0.0], dtype=torch.float64, requires_grad=True)
    y = clip_gradient(x, bound)
    assert torch.equal(y, x)
    y.backward(torch.tensor(upstream, dtype=torch.float64))
    assert torch.equal(x.grad, torch.tensor(expected, dtype=torch.float64))


def test_no_bound_or_no_gradient_adds_nothing_to_the_graph():
    x = torch.ones(3, requires_grad=True)
    assert clip_gradient(x, None) is x
    constant = torch.ones(3)
    assert clip_gradient(constant, 1.0) is constant


def test_the_function_passes_gradcheck_where_the_clamp_is_inactive():
    x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: clip_gradient(x, 1e6) * x, (x,))


# ---- in the NTM ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("controller", ["lstm", "feedforward"])
def test_the_forward_is_unchanged_bit_for_bit(controller):
    clipped, plain = tiny(controller=controller, gradient_clip=1e-3), tiny(controller=controller, gradient_clip=None)
    plain.load_state_dict(clipped.state_dict())
    x = inputs(6, 3).requires_grad_()
    y, state, trace = clipped(x, return_weights=True)
    y_ref, state_ref, trace_ref = plain(x, return_weights=True)
    assert torch.equal(y, y_ref) and torch.equal(state.memory, state_ref.memory)
    assert torch.equal(state.reads, state_ref.reads) and torch.equal(trace.read_weights, trace_ref.read_weights)
    assert torch.equal(trace.write_weights, trace_ref.write_weights)
    step_y, step_state = clipped.step(x[0], clipped.initial_state(3))
    assert torch.equal(step_y, plain.step(x[0], plain.initial_state(3))[0])
    assert torch.allclose(step_y, y_ref[0], atol=1e-12, rtol=0)  # step by step and whole-sequence paths agree


def test_the_memory_gradient_is_clamped_by_hand():
    """One step from a given M_0: M_0 reaches the loss only through the step's addressing, read and write, so
    ∂L/∂M_0 with the clip is exactly the clamp of ∂L/∂M_0 without it."""
    bound = 0.5
    clipped, plain = tiny(gradient_clip=bound, memory_init="random"), tiny(gradient_clip=None, memory_init="random")
    plain.load_state_dict(clipped.state_dict())
    x = inputs(1, 2)
    generator = torch.Generator().manual_seed(2)
    y_weights = torch.randn(1, 2, 2, generator=generator, dtype=torch.float64)
    memory_weights = torch.randn(2, 4, 3, generator=generator, dtype=torch.float64)  # ∂L/∂M_1, some above ±bound
    grads = []
    for model in (plain, clipped):
        state = model.initial_state(2)
        memory = state.memory.detach().clone().requires_grad_()
        y, final = model(x, state._replace(memory=memory))
        ((y * y_weights).sum() + (final.memory * memory_weights).sum()).backward()
        grads.append(memory.grad)
    unclipped, result = grads
    assert (unclipped.abs() > 2 * bound).any()  # the clamp is active somewhere ...
    assert (unclipped.abs() < bound / 2).any()  # ... and not everywhere
    assert torch.allclose(result, unclipped.clamp(-bound, bound), atol=1e-12, rtol=0)


@pytest.mark.parametrize("path", ["sequence", "step", "reference"])
def test_every_clipped_gradient_is_within_the_bound(path, monkeypatch):
    """A long, loud sequence: with the clip, the gradients reaching the memory, the weightings and the
    read vectors of the initial state, and the head parameters' linear outputs, stay within ±bound, on each
    path: the whole sequence in one node (LSTM controller), one node a step (GRU), autograd (NTM.fused False)."""
    bound = 0.5
    model = tiny(gradient_clip=bound, memory_init="random", write_heads=2, controller="gru" if path == "step" else
                 "lstm")
    model.fused = path != "reference"
    seen = []  # ∂L/∂(W_p c_t + b_p) of every step
    if path == "reference":
        model.heads.linear.register_full_backward_hook(lambda module, grad_in, grad_out: seen.append(grad_out[0]))
    else:
        original = fused.backward_step

        def recording(*args, **kwargs):
            grads = original(*args, **kwargs)
            seen.append(grads[2])
            return grads
        monkeypatch.setattr(fused, "backward_step", recording)
        monkeypatch.setattr(sequence, "backward_step", recording)
    state = model.initial_state(2)
    memory, reads = (v.detach().clone().requires_grad_() for v in (state.memory, state.reads))
    weights = state.read_weights.detach().clone().requires_grad_()
    y, final = model(10 * inputs(30, 2), state._replace(memory=memory, reads=reads, read_weights=weights))
    (1e4 * y.sum()).backward()
    assert len(seen) == 30
    for grad in (memory.grad, reads.grad, weights.grad, *seen):
        assert torch.isfinite(grad).all() and grad.abs().max() <= bound
    assert max(g.abs().max() for g in seen) == bound  # the loss is loud enough to reach it


@pytest.mark.parametrize("controller", ["lstm", "feedforward"])
def test_gradcheck_in_float64_with_the_clip_far_from_active(controller):
    model = tiny(controller=controller, memory_init="learned", gradient_clip=1e6)
    names = ["heads.linear.weight", "output.weight", "initial_reads", "initial_memory"]
    params = {n: p.detach().clone().requires_grad_() for n, p in model.named_parameters() if n in names}
    x = inputs(3, 2).requires_grad_()

    def f(x, *values):
        y, state = functional_call(model, dict(zip(params, values)), (x,))
        return y, state.memory

    assert torch.autograd.gradcheck(f, (x, *params.values()))


# ---- the option ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [0, -1.0, math.inf, math.nan, True, "ten", [1.0]])
def test_bad_bounds_are_refused_in_one_line(value):
    with pytest.raises(ValueError, match=r"^gradient_clip must be a positive finite number or None \(\"none\"\); "
                                         rf"got {__import__('re').escape(repr(value))}$"):
        NTM(2, 2, memory_slots=8, gradient_clip=value)


@pytest.mark.parametrize("value, expected", [(None, None), ("none", None), (2, 2.0), (0.25, 0.25)])
def test_good_bounds(value, expected):
    assert check_bound("gradient_clip", value) == expected
    model = NTM(2, 2, memory_slots=8, gradient_clip=value)
    assert model.gradient_clip == model.heads.gradient_clip == expected
    assert f"gradient_clip={expected}" in repr(model)


@pytest.mark.parametrize("setting, expected", [
    (None, GRADIENT_CLIP), ("gradient_clip=2.5", 2.5), ('gradient_clip="none"', None)])
def test_the_option_reaches_the_model_from_the_command_line(setting, expected):
    overrides = ["model.hidden_size=8", "task.max_length=3"]
    options = "memory_slots=8, memory_width=4" + (f", {setting}" if setting else "")
    config = build_config("copy", model="ntm", overrides=[*overrides, f"model.options={{{options}}}"])
    model = build_model(config, build_task(config))
    assert model.gradient_clip == model.heads.gradient_clip == expected
    assert GRADIENT_CLIP is None or GRADIENT_CLIP > 0


def test_the_clip_adds_no_parameters_or_buffers():
    assert tiny(gradient_clip=1.0).state_dict().keys() == tiny(gradient_clip=None).state_dict().keys()

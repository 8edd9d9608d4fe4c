"""The Neural Turing Machine: one step against a plain reference, gradients, batches, states, arguments, learning."""

import re

import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call

from rnnlab.memory import NTM, HeadParameterLayer, NTMState, addressing
from rnnlab.memory.addressing import NORM_EPSILON
from rnnlab.memory.ntm import CONSTANT_MEMORY

CONTROLLERS = ["lstm", "gru", "elman_tanh", "feedforward"]
MEMORY_INITS = ["constant", "learned", "random"]


def tiny(controller="lstm", *, dtype=torch.float64, seed=0, **options) -> NTM:
    """N = 4 slots of width M = 3, controller of 5 units, I = O = 2."""
    torch.manual_seed(seed)
    sizes = dict(input_size=2, output_size=2, controller_size=5, memory_slots=4, memory_width=3)
    return NTM(controller=controller, **{**sizes, **options}).to(dtype)


def inputs(steps, batch, size=2, *, seed=1, dtype=torch.float64) -> torch.Tensor:
    return torch.randn(steps, batch, size, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _flatten(state):
    """Every tensor of a (nested) state, in order."""
    if state is None:
        return []
    if isinstance(state, torch.Tensor):
        return [state]
    return [t for part in state for t in _flatten(part)]


def assert_states_close(a: NTMState, b: NTMState, atol=1e-10):
    fa, fb = _flatten(a), _flatten(b)
    assert len(fa) == len(fb)
    for x, y in zip(fa, fb):
        assert torch.allclose(x, y, atol=atol, rtol=0), (x - y).abs().max()


# ---- one step against a plain reference -----------------------------------------------------------------------------
def norm(v):
    """‖v‖ = sqrt(Σ v² + ε), the norm of the cosine similarity with its documented ε."""
    return torch.sqrt(v @ v + NORM_EPSILON)


def reference_step(model: NTM, x_t, state: NTMState):
    """One step for a single sequence written from the paper, with loops over heads and slots:
    w^γ / Σ w^γ directly, the circular convolution as a double sum, erasures then additions one head at a time."""
    N, M, R, W, s = model.memory_slots, model.memory_width, model.read_heads, model.write_heads, model.shift_range
    H, S = R + W, 2 * model.shift_range + 1
    memory = state.memory[0]  # (N, M)
    previous = torch.cat([state.read_weights[0], state.write_weights[0]])  # (H, N)
    c = torch.cat([x_t[0], state.reads[0].flatten()])
    controller_state = None
    if state.controller is None:
        for layer in model.controller:
            c = torch.tanh(layer(c.unsqueeze(0))).squeeze(0)
    else:
        c, controller_state = model.controller[0](c.unsqueeze(0), state.controller[0])
        c, controller_state = c.squeeze(0), (controller_state,)
    raw = (model.heads.linear.weight @ c + model.heads.linear.bias).clamp(-20, 20)
    sizes = [H * M, H, H, H * S, H, W * M, W * M]  # the documented layout
    k_all, beta_all, g_all, s_all, gamma_all, e_all, a_all = raw.split(sizes)
    weights = []
    for h in range(H):
        k = torch.tanh(k_all[h * M : (h + 1) * M])
        beta, g, gamma = F.softplus(beta_all[h]), torch.sigmoid(g_all[h]), 1 + F.softplus(gamma_all[h])
        shifts = torch.softmax(s_all[h * S : (h + 1) * S], 0)
        cos = torch.stack([k @ memory[i] / (norm(k) * norm(memory[i])) for i in range(N)])
        wc = torch.softmax(beta * cos, 0)
        wg = g * wc + (1 - g) * previous[h]
        shifted = torch.stack([sum(shifts[k + s] * wg[(i - k) % N] for k in range(-s, s + 1)) for i in range(N)])
        weights.append(shifted ** gamma / (shifted ** gamma).sum())
    reads = torch.stack([weights[h] @ memory for h in range(R)])  # read M_{t−1}
    new_memory = memory.clone()
    for h in range(W):
        new_memory = new_memory * (1 - torch.outer(weights[R + h], torch.sigmoid(e_all[h * M : (h + 1) * M])))
    for h in range(W):
        new_memory = new_memory + torch.outer(weights[R + h], torch.tanh(a_all[h * M : (h + 1) * M]))
    y = model.output.weight @ torch.cat([c, reads.flatten()]) + model.output.bias
    return y, new_memory, torch.stack(weights), reads, controller_state


@pytest.mark.parametrize("controller, heads, slots, shifts", [
    ("lstm", (1, 1), 4, 1), ("feedforward", (2, 3), 4, 1), ("gru", (2, 1), 5, 2), ("elman_tanh", (1, 2), 4, 0)])
def test_step_equals_a_plain_reference_of_the_paper(controller, heads, slots, shifts):
    model = tiny(controller, read_heads=heads[0], write_heads=heads[1], memory_slots=slots, shift_range=shifts,
                 memory_init="random")
    with torch.no_grad():
        model.initial_reads.normal_()
    x = inputs(3, 1)
    state = model.initial_state(1, dtype=torch.float64)
    for t in range(3):  # three steps, so the weightings, reads and memory are no longer their initial values
        y_ref, memory_ref, weights_ref, reads_ref, controller_ref = reference_step(model, x[t], state)
        y, state = model.step(x[t], state)
        assert torch.allclose(y[0], y_ref, atol=1e-10)
        assert torch.allclose(state.memory[0], memory_ref, atol=1e-10)
        assert torch.allclose(torch.cat([state.read_weights, state.write_weights], 1)[0], weights_ref, atol=1e-10)
        assert torch.allclose(state.reads[0], reads_ref, atol=1e-10)
        assert_states_close(state.controller, controller_ref)


def test_reads_see_the_memory_before_this_steps_write():
    """Read, then write: the first step reads the initial memory however the heads address it."""
    model = tiny("feedforward", memory_init="random")
    state = model.initial_state(2)
    _, new = model.step(inputs(1, 2)[0], state)
    expected = torch.einsum("brn,bnm->brm", new.read_weights, state.memory)
    assert torch.allclose(new.reads, expected)
    assert not torch.allclose(new.memory, state.memory)


# ---- gradients ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("controller", ["lstm", "feedforward"])
def test_forward_gradcheck_in_float64(controller):
    """d y / d (x, head weights, output weights, controller weights, r_0, learned M_0), T = 3."""
    model = tiny(controller, memory_init="learned", write_heads=2)
    names = ["heads.linear.weight", "heads.linear.bias", "output.weight", "initial_reads", "initial_memory",
             "controller.0.weight" if controller == "feedforward" else "controller.0.weight_ih"]
    params = {n: p.detach().clone().requires_grad_() for n, p in model.named_parameters() if n in names}
    assert sorted(params) == sorted(names)
    x = inputs(3, 2).requires_grad_()

    def f(x, *values):
        y, state = functional_call(model, dict(zip(params, values)), (x,))
        return y, state.memory

    assert torch.autograd.gradcheck(f, (x, *params.values()))


def test_step_gradcheck_in_float64():
    model = tiny("gru", read_heads=2)
    state = model.initial_state(2)
    _, state = model.step(inputs(1, 2)[0], state)  # away from the one-hot start
    memory = state.memory.detach().requires_grad_()
    reads = state.reads.detach().requires_grad_()
    weights = state.read_weights.detach().requires_grad_()
    x = inputs(1, 2, seed=5)[0].requires_grad_()

    def f(x, memory, reads, weights):
        y, new = model.step(x, state._replace(memory=memory, reads=reads, read_weights=weights))
        return y, new.memory, new.reads

    assert torch.autograd.gradcheck(f, (x, memory, reads, weights))


def test_long_sequences_stay_finite_in_float32():
    """500 steps with large inputs and large head weights (which the clip holds): no NaN, forward or backward."""
    model = NTM(3, 2, controller_size=8, memory_slots=8, memory_width=4, write_heads=2)
    with torch.no_grad():
        model.heads.linear.weight.mul_(50)
    x = 10 * torch.randn(500, 2, 3, generator=torch.Generator().manual_seed(0))
    y, state = model(x)
    y.sum().backward()
    assert torch.isfinite(y).all() and torch.isfinite(state.memory).all()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


# ---- batches and states ---------------------------------------------------------------------------------------------
def test_each_sequence_is_computed_the_same_alone_or_in_a_batch():
    model = NTM(3, 2, controller_size=10, memory_slots=6, memory_width=4, read_heads=2, write_heads=2,
                memory_init="random")
    x = torch.randn(7, 5, 3, generator=torch.Generator().manual_seed(0))
    y, state = model(x)
    for b in range(5):
        y_b, state_b = model(x[:, b : b + 1])
        assert torch.allclose(y[:, b : b + 1], y_b, atol=1e-6, rtol=0)
        assert torch.allclose(state.memory[b : b + 1], state_b.memory, atol=1e-6, rtol=0)


@pytest.mark.parametrize("controller", ["lstm", "feedforward"])
def test_continuing_from_the_returned_state_equals_one_pass(controller):
    model = tiny(controller, controller_layers=2)
    x = inputs(6, 3)
    y, state = model(x)
    y1, mid = model(x[:2])
    y2, end = model(x[2:], mid)
    assert torch.allclose(torch.cat([y1, y2]), y, atol=1e-12)
    assert_states_close(end, state)
    stepped, s = [], model.initial_state(3)
    for t in range(6):
        y_t, s = model.step(x[t], s)
        stepped.append(y_t)
    assert torch.allclose(torch.stack(stepped), y, atol=1e-12)
    assert_states_close(s, state)


def test_outputs_are_causal():
    model = tiny()
    x = inputs(5, 2)
    changed = x.clone()
    changed[3] += 1.0
    assert torch.allclose(model(x)[0][:3], model(changed)[0][:3])
    assert not torch.allclose(model(x)[0][3:], model(changed)[0][3:])


def test_lengths_leave_the_outputs_alone_and_end_each_state_at_its_own_last_step():
    """The trainer's call: model(inputs, lengths=..., state=...)."""
    model = tiny(write_heads=2)
    x, lengths = inputs(5, 3), torch.tensor([5, 2, 3])
    y, state = model(x, lengths=lengths, state=None)
    assert torch.equal(y, model(x)[0])
    for b, n in enumerate(lengths.tolist()):
        _, alone = model(x[:n, b : b + 1])
        picked = NTMState(*(f[b : b + 1] for f in state[:4]), tuple(type(c)(*(f[b : b + 1] for f in c))
                                                                    for c in state.controller))
        assert_states_close(picked, alone)


@pytest.mark.parametrize("fused", [True, False])
def test_return_weights_traces_every_step(monkeypatch, fused):
    model = tiny(read_heads=2, write_heads=3)
    model.fused = fused
    x = inputs(4, 2)
    y, state, trace = model(x, return_weights=True)
    assert trace.read_weights.shape == (4, 2, 2, 4) and trace.write_weights.shape == (4, 2, 3, 4)
    assert trace.adds.shape == (4, 2, 3, 3) and trace.reads.shape == (4, 2, 2, 3)
    assert torch.equal(trace.reads[-1], state.reads)
    assert torch.allclose(trace.read_weights.sum(-1), torch.ones(4, 2, 2, dtype=torch.float64))
    assert torch.equal(trace.read_weights[-1], state.read_weights)
    assert torch.equal(trace.write_weights[-1], state.write_weights)
    assert torch.equal(y, model(x)[0])
    # the add vectors that reach the memory, step by step, recorded on the reference path
    written = []
    write = addressing.write
    monkeypatch.setattr(addressing, "write", lambda memory, weights, erase, add: written.append(add) or
                        write(memory, weights, erase, add))
    model.fused = False
    model(x)
    assert torch.allclose(trace.adds, torch.stack(written), atol=1e-12, rtol=0)


# ---- controllers, memory initialisations, heads ---------------------------------------------------------------------
@pytest.mark.parametrize("memory_init", MEMORY_INITS)
@pytest.mark.parametrize("controller", CONTROLLERS)
def test_every_controller_and_memory_init_runs_forward_and_backward(controller, memory_init):
    model = NTM(3, 2, controller=controller, controller_size=6, memory_slots=5, memory_width=4,
                memory_init=memory_init)
    y, state = model(torch.randn(4, 2, 3))
    assert y.shape == (4, 2, 2) and state.memory.shape == (2, 5, 4)
    assert state.read_weights.shape == (2, 1, 5) and state.write_weights.shape == (2, 1, 5)
    assert state.reads.shape == (2, 1, 4)
    assert (state.controller is None) == (controller == "feedforward")
    (y.sum() + state.memory.sum()).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert isinstance(model.initial_memory, torch.nn.Parameter) == (memory_init == "learned")
    assert ("initial_memory" in model.state_dict()) == (memory_init != "constant")


def test_initial_state():
    model = tiny(read_heads=2, write_heads=3, controller_layers=2)
    state = model.initial_state(4)
    assert torch.equal(state.memory, torch.full((4, 4, 3), CONSTANT_MEMORY, dtype=torch.float64))
    one_hot = torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=torch.float64)
    assert torch.equal(state.read_weights, one_hot.expand(4, 2, 4))
    assert torch.equal(state.write_weights, one_hot.expand(4, 3, 4))
    assert torch.equal(state.reads, torch.zeros(4, 2, 3, dtype=torch.float64))
    assert len(state.controller) == 2 and all(torch.equal(f, torch.zeros(4, 5, dtype=torch.float64))
                                              for layer in state.controller for f in layer)


def test_random_memory_is_drawn_once_truncated_and_saved_with_the_weights():
    model = NTM(2, 2, memory_slots=64, memory_width=16, memory_init="random")
    memory = model.initial_state(2).memory
    assert torch.equal(memory[0], memory[1]) and torch.equal(model.initial_state(1).memory[0], memory[0])
    assert memory.abs().max() <= 1.0 and 0.35 < memory.std() < 0.5  # N(0, 0.5²) cut at ±2σ has σ ≈ 0.44
    other = NTM(2, 2, memory_slots=64, memory_width=16, memory_init="random")
    assert not torch.equal(other.initial_memory, model.initial_memory)
    other.load_state_dict(model.state_dict())
    x = torch.randn(3, 2, 2)
    assert torch.equal(other(x)[0], model(x)[0])


def test_controller_options_reach_the_cells():
    model = NTM(2, 2, controller="lstm", controller_size=4, controller_layers=2, forget_bias=3.0)
    for cell in model.controller:
        assert torch.equal(cell.bias_ih[4:8], torch.full((4,), 3.0))


def test_head_parameters_are_clipped_before_their_activations():
    layer = HeadParameterLayer(controller_size=2, read_heads=1, write_heads=1, memory_width=3, shift_range=1, clip=20)
    with torch.no_grad():
        layer.linear.weight.fill_(100.0)
    p = layer(torch.ones(1, 2))
    assert torch.allclose(p.key_strength, torch.full((1, 2, 1), F.softplus(torch.tensor(20.0)).item()))
    assert torch.allclose(p.gamma, 1 + p.key_strength)
    unclipped = HeadParameterLayer(2, 1, 1, 3, 1, clip=None)
    unclipped.load_state_dict(layer.state_dict())
    assert torch.allclose(unclipped(torch.ones(1, 2)).key_strength, torch.full((1, 2, 1), 200.0))


def test_head_parameter_shapes_and_ranges():
    layer = HeadParameterLayer(controller_size=7, read_heads=2, write_heads=3, memory_width=4, shift_range=2)
    p = layer(10 * torch.randn(6, 7))
    assert p.key.shape == (6, 5, 4) and p.shift_weights.shape == (6, 5, 5)
    assert p.key_strength.shape == p.gate.shape == p.gamma.shape == (6, 5, 1)
    assert p.erase.shape == p.add.shape == (6, 3, 4)
    assert (p.key_strength >= 0).all() and (p.gamma >= 1).all() and ((p.gate >= 0) & (p.gate <= 1)).all()
    assert torch.allclose(p.shift_weights.sum(-1), torch.ones(6, 5))
    assert ((p.erase >= 0) & (p.erase <= 1)).all() and (p.add.abs() <= 1).all() and (p.key.abs() <= 1).all()


# ---- bad arguments --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("options, message", [
    ({"memory_slots": 0}, r"memory_slots must be a positive int; got 0"),
    ({"memory_width": -1}, r"memory_width must be a positive int; got -1"),
    ({"read_heads": 0}, r"read_heads must be a positive int; got 0"),
    ({"shift_range": -1}, r"shift_range must be an int with 0 <= shift_range < memory_slots / 2 = 4; got -1"),
    ({"shift_range": 4}, r"shift_range must be an int with 0 <= shift_range < memory_slots / 2 = 4; got 4"),
    ({"memory_slots": 5, "shift_range": 3},
     r"shift_range must be an int with 0 <= shift_range < memory_slots / 2 = 2.5; got 3"),
    ({"controller": "transformer"}, r"unknown controller 'transformer'; choose 'feedforward' or a cell: "
                                    r"elman_tanh, .*lstm, gru"),
    ({"memory_init": "zeros"}, r"unknown memory_init 'zeros'; choose one of constant, learned, random"),
    ({"clip_controller": 0}, r"clip_controller must be a positive number or None; got 0"),
    ({"controller": "feedforward", "forget_bias": 1.0}, r"the feedforward controller takes no options; got forget_bias"),
])
def test_bad_arguments_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        NTM(2, 2, **{"memory_slots": 8, **options})


def test_unknown_cell_options_are_refused():
    with pytest.raises(TypeError, match=r"cell 'gru' does not take the option 'forget_bias'"):
        NTM(2, 2, controller="gru", forget_bias=1.0)


@pytest.mark.parametrize("shape", [(4, 2, 3), (4, 2), (2, 4, 2, 2)])
def test_wrong_input_shapes_are_refused(shape):
    model = tiny()
    with pytest.raises(ValueError, match=re.escape(f"NTM expects x of shape (T, B, 2); got {shape}")):
        model(torch.zeros(shape, dtype=torch.float64))


def test_wrong_step_input_and_state_are_refused():
    model = tiny()
    with pytest.raises(ValueError, match=r"NTM expects x_t of shape \(B, 2\); got \(3, 1, 2\)"):
        model.step(torch.zeros(3, 1, 2, dtype=torch.float64), model.initial_state(3))
    with pytest.raises(TypeError, match=r"NTM expects the state as an NTMState \(or None\); got Tensor"):
        model(inputs(2, 3), torch.tensor([2, 2, 2]))  # lengths passed where the state goes
    with pytest.raises(ValueError, match=r"NTM expects state.memory of shape \(2, 4, 3\) for a batch of 2; "
                                         r"got \(3, 4, 3\)"):
        model(inputs(2, 2), model.initial_state(3))
    with pytest.raises(TypeError, match=r"NTM expects floating-point input; got dtype torch.int64"):
        model(torch.zeros(2, 3, 2, dtype=torch.long))


# ---- learning -------------------------------------------------------------------------------------------------------
def copy_batch(batch: int, bits: int, max_length: int, generator: torch.Generator):
    """Graves et al. §4.1, tiny: L ∈ 1..max_length random bit vectors, a delimiter on an extra channel, then
    L blank steps during which the targets are the vectors again.  -> x (T, B, bits + 1), targets, mask (T, B)."""
    steps = 2 * max_length + 1
    lengths = torch.randint(1, max_length + 1, (batch,), generator=generator)
    vectors = torch.randint(0, 2, (max_length, batch, bits), generator=generator).float()
    x, targets, mask = torch.zeros(steps, batch, bits + 1), torch.zeros(steps, batch, bits), torch.zeros(steps, batch)
    for b, n in enumerate(lengths.tolist()):
        x[:n, b, :bits] = vectors[:n, b]
        x[n, b, bits] = 1.0
        targets[n + 1 : 2 * n + 1, b] = vectors[:n, b]
        mask[n + 1 : 2 * n + 1, b] = 1.0
    return x, targets, mask


def bit_error_rate_after_training(controller: str, max_steps: int) -> float:
    """Train until the bit error rate on a validation batch is below 2 % (checked every 50 steps), then
    score a fresh test batch from another seed: the stopping rule saw the validation batch, not this one."""
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    model = NTM(5, 4, controller=controller, controller_size=32, memory_slots=8, memory_width=8)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    validation = copy_batch(256, 4, 3, torch.Generator().manual_seed(99))
    test = copy_batch(256, 4, 3, torch.Generator().manual_seed(100))

    def bit_errors(x, targets, mask):
        with torch.no_grad():
            wrong = ((model(x)[0] > 0).float() != targets).float().sum(-1)
        return float((wrong * mask).sum() / (4 * mask.sum()))

    for step in range(1, max_steps + 1):
        x, targets, mask = copy_batch(32, 4, 3, generator)
        y, _ = model(x)
        loss = (F.binary_cross_entropy_with_logits(y, targets, reduction="none").sum(-1) * mask).sum() / mask.sum()
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        optimizer.step()
        if step % 50 == 0 and bit_errors(*validation) < 0.02:
            break
    return bit_errors(*test)


def test_a_feedforward_ntm_learns_to_copy():
    """A feedforward controller has no memory of its own: it can only copy through the NTM's memory.
    About 150 steps (2 s on one core); chance is 50 %."""
    assert bit_error_rate_after_training("feedforward", max_steps=600) < 0.05


def test_an_lstm_ntm_learns_to_copy():
    """About 300-550 steps (3-6 s on one core)."""
    assert bit_error_rate_after_training("lstm", max_steps=800) < 0.05

"""SequenceGenerator (1→N): shapes, the initial state, the feeding rules, greedy and beam search, errors, learning."""

import pytest
import torch
from torch import nn

from rnnlab.cells import LSTMState
from rnnlab.models.generator import SequenceGenerator
from rnnlab.tasks.base import BOS, EOS, PAD

V = 6  # output vocabulary: PAD, BOS, EOS and three symbols


def make(cell="gru", *, layers=2, seed=0, **options):
    torch.manual_seed(seed)
    return SequenceGenerator(cell, 4, V, 8, num_layers=layers, **options).double()


def vectors(batch=5, seed=1):
    return torch.randn(batch, 4, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def random_targets(steps, batch, seed=2):
    generator = torch.Generator().manual_seed(seed)
    y = torch.randint(3, V, (steps, batch), generator=generator)
    ends = torch.randint(1, steps + 1, (batch,), generator=generator)
    t = torch.arange(steps).unsqueeze(1)
    y = torch.where(t == ends - 1, torch.full_like(y, EOS), y)
    return torch.where(t >= ends, torch.full_like(y, PAD), y), ends


def log_prob(model, v, tokens, token_lengths):
    """Σ_t log p(y_t | y_<t, v) of given outputs, by teacher forcing (training mode, no dropout, ρ = 1)."""
    was_training = model.training
    model.train()
    with torch.no_grad():
        logits, _ = model(v, targets=tokens)
    model.train(was_training)
    lp = torch.log_softmax(logits, -1).gather(2, tokens.unsqueeze(2)).squeeze(2)  # (T, B)
    return (lp * (torch.arange(tokens.shape[0]).unsqueeze(1) < token_lengths)).sum(0)


CONFIGS = [dict(context=c, feedback=f) for c in ("state", "input", "both") for f in (True, False)]
IDS = lambda c: f"{c['context']}-feedback={c['feedback']}"  # noqa: E731


@pytest.mark.parametrize("cell", ["elman_tanh", "lstm", "gru", "gru3"])
@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_shapes(cell, config):
    model = make(cell, **config)
    v = vectors()
    targets, _ = random_targets(6, 5)
    logits, state = model(v, targets=targets)
    assert logits.shape == (6, 5, V)
    if cell == "lstm":
        assert isinstance(state, LSTMState) and state.h.shape == state.c.shape == (2, 5, 8)
    else:
        assert state.shape == (2, 5, 8)
    model.eval()
    assert model(v, targets=targets)[0].shape == (6, 5, V)
    free, _ = model(v)
    assert free.shape[1:] == (5, V) and 1 <= free.shape[0] <= model.max_length
    tokens, lengths = model.decode(v, max_length=7, beam_size=3)
    assert tokens.dtype == torch.long and tokens.shape[1] == 5 and tokens.shape[0] == int(lengths.max()) <= 7


def test_modules_by_context_and_feedback():
    assert make(context="input").initial is None
    assert len(make(context="both").initial) == 2  # W^l, b^l of h_0^l = tanh(W^l v + b^l)
    assert make(feedback=False).decoder.embedding is None
    assert make(feedback=False).decoder.stack.input_size == 1  # the constant zero input
    assert make(context="both", feedback=False).decoder.stack.input_size == 4  # v alone


def test_initial_state_is_tanh_of_a_linear_map():
    model = make("lstm", context="state")
    v = vectors()
    state = model.initial_state(v)
    for layer, w in zip(state.layers, model.initial):
        assert torch.allclose(layer.h, torch.tanh(w(v)), atol=1e-12) and torch.all(layer.c == 0)


def test_given_state_replaces_the_initial_state():
    model = make("lstm", context="both").train()
    v = vectors()
    targets, _ = random_targets(6, 5)
    state = model.decoder.stacked(model.initial_state(v).layers)
    assert torch.equal(model(v, targets=targets)[0], model(v, state=state, targets=targets)[0])
    zeros = LSTMState(torch.zeros(2, 5, 8, dtype=torch.float64), torch.zeros(2, 5, 8, dtype=torch.float64))
    assert not torch.allclose(model(v, state=zeros, targets=targets)[0], model(v, targets=targets)[0])


def test_going_on_from_a_final_state():
    model = make("lstm", context="input", feedback=False).train()  # the same input v at every step
    v = vectors()
    no_eos = torch.full((6, 5), 3)
    whole, _ = model(v, targets=no_eos)
    _, middle = model(v, targets=no_eos[:3])
    rest, _ = model(v, state=middle, targets=no_eos[3:])
    assert torch.allclose(rest, whole[3:], atol=1e-10)


def test_without_feedback_the_targets_change_nothing():
    model = make("gru", context="input", feedback=False)
    v = vectors()
    a, _ = model(v, targets=random_targets(6, 5, seed=3)[0].clamp(min=3))
    b, _ = model(v, targets=random_targets(6, 5, seed=4)[0].clamp(min=3))
    assert torch.equal(a, b)  # no EOS: every sequence 6 steps, the same inputs
    model.decoder.fast_paths = False
    c, _ = model(v, targets=random_targets(6, 5, seed=5)[0].clamp(min=3))
    assert torch.allclose(a, c, atol=1e-10)  # whole-sequence path equals steps


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_whole_sequence_path_equals_steps(config):
    model = make("lstm", **config).train()
    v = vectors()
    targets, ends = random_targets(6, 5)
    fast, fast_state = model(v, targets=targets)
    model.decoder.fast_paths = False
    steps, step_state = model(v, targets=targets)
    live = torch.arange(6).unsqueeze(1) < ends
    assert torch.allclose(fast[live], steps[live], atol=1e-10)
    assert torch.allclose(fast_state.h, step_state.h, atol=1e-10)
    assert torch.allclose(fast_state.c, step_state.c, atol=1e-10)


def test_teacher_forcing_one_feeds_the_true_tokens():
    model = make("gru", teacher_forcing=1.0).train()
    model.decoder.fast_paths = False  # step by step: one embedding call per step
    targets, _ = random_targets(6, 5)
    fed = []
    model.decoder.embedding.register_forward_hook(lambda module, args, out: fed.append(args[0]))
    model(vectors(), targets=targets)
    assert torch.equal(torch.stack(fed), torch.cat([torch.full((1, 5), BOS), targets[:-1]]))


def test_teacher_forcing_zero_equals_eval_greedy():
    model = make("lstm", context="both", teacher_forcing=0.0)
    v = vectors()
    targets, _ = random_targets(6, 5)
    train_logits, _ = model.train()(v, targets=targets)
    eval_logits, _ = model.eval()(v, targets=targets)
    assert torch.equal(train_logits, eval_logits)


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_eval_with_targets_equals_decode(config):
    model = make("lstm", **config).eval()
    v = vectors()
    tokens, lengths = model.decode(v, max_length=7)
    predicted = model(v, targets=torch.full((7, 5), 3))[0].argmax(-1)
    free = model(v)[0].argmax(-1)
    for b, n in enumerate(lengths.tolist()):
        assert torch.equal(predicted[:n, b], tokens[:n, b]) and torch.equal(free[:n, b], tokens[:n, b])
        assert n == 7 or tokens[n - 1, b] == EOS


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_beam_of_one_is_greedy(config):
    model = make("gru", **config).eval()
    v = vectors()
    assert all(torch.equal(a, b) for a, b in zip(model.decode(v, max_length=8), model.decode(v, 8, 1)))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("context", ["state", "both"])
def test_beam_finds_at_least_greedy_log_probability(seed, context):
    model = make("lstm", seed=seed, context=context).eval()
    with torch.no_grad():
        model.decoder.readout.weight.mul_(8)
    v = vectors(batch=8, seed=seed)
    greedy_lp = log_prob(model, v, *model.decode(v, max_length=6))
    for k in (2, 3):
        lp = log_prob(model, v, *model.decode(v, max_length=6, beam_size=k))
        assert torch.all(lp >= greedy_lp - 1e-9), (k, lp, greedy_lp)


@pytest.mark.parametrize("beam_size", [1, 4])
def test_max_length_is_respected(beam_size):
    model = make("gru", max_length=5).eval()
    v = vectors()
    with torch.no_grad():
        model.decoder.readout.bias[EOS] = -1e9
    tokens, lengths = model.decode(v, beam_size=beam_size)
    assert tokens.shape == (5, 5) and torch.all(lengths == 5)
    assert model.decode(v, max_length=2, beam_size=beam_size)[0].shape == (2, 5)
    assert model(v)[0].shape == (5, 5, V)


@pytest.mark.parametrize("options, message", [
    (dict(context="initial"), "context must be one of 'state', 'input', 'both'; got 'initial'"),
    (dict(teacher_forcing=2.0), r"teacher_forcing must be a number in \[0, 1\]; got 2.0"),
    (dict(max_length=0), "max_length must be an int >= 1; got 0"),
    (dict(embedding_size=-1), "embedding_size must be an int >= 1; got -1"),
    (dict(output_size=1), "output_size must be an int >= 3"),
])
def test_bad_constructor_arguments(options, message):
    with pytest.raises(ValueError, match=message):
        SequenceGenerator(**(dict(cell="gru", input_size=4, output_size=V, hidden_size=8) | options))
    with pytest.raises(TypeError, match="feedback must be a bool; got 'yes'"):
        SequenceGenerator("gru", 4, V, 8, feedback="yes")


def test_bad_call_arguments():
    model = make("lstm")
    v = vectors()
    cases = [
        (lambda: model(v[:, :3]), r"expects inputs of shape \(B, 4\) float, one vector per sequence; got \(5, 3\)"),
        (lambda: model(v.unsqueeze(0)), r"got \(1, 5, 4\)"),
        (lambda: model(v, lengths=torch.tensor([1] * 5)), "takes no lengths"),
        (lambda: model(v, targets=torch.zeros(6, 4, dtype=torch.long)), r"targets of shape \(T_out >= 1, B=5\)"),
        (lambda: model(v, targets=torch.full((6, 5), -1)), r"must lie in \[0, output_size=6\); got values from -1"),
        (lambda: model(v, state=torch.zeros(2, 5, 8)),
         r"expects state as 2 tensor\(s\) of shape \(2, 5, 8\), \(2, 5, 8\)"),
        (lambda: model.decode(v, beam_size=0), "beam_size must be an int >= 1; got 0"),
        (lambda: model.decode(v, max_length=2.5), "max_length must be an int >= 1; got 2.5"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()


def test_learns_a_fixed_sequence_per_class():
    torch.manual_seed(0)
    words = [[3, 4, 5], [5, 3], [4, 4, 4, 3], [3]]  # class c -> words[c], then EOS
    targets = torch.full((5, 4), PAD)
    for c, word in enumerate(words):
        targets[: len(word) + 1, c] = torch.tensor(word + [EOS])
    classes = torch.eye(4)  # one-hot class vectors
    model = SequenceGenerator("gru", 4, V, 32, embedding_size=8, max_length=10)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-2)
    for _ in range(60):
        logits, _ = model(classes, targets=targets)
        loss = nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=PAD)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    tokens, lengths = model.decode(classes)
    assert torch.equal(lengths, torch.tensor([4, 3, 5, 2]))
    assert torch.equal(tokens, targets)
    assert torch.equal(model.decode(classes, beam_size=3)[0], targets)

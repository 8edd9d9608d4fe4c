"""Seq2Seq (N→M): shapes, padding, attention masks, the feeding rules, greedy and beam search, errors, learning."""

import math

import pytest
import torch
from torch import nn

from rnnlab.cells import LSTMState
from rnnlab.models.attention import AdditiveAttention
from rnnlab.models.beam_search import beam_search
from rnnlab.models.decoding import target_lengths
from rnnlab.models.seq2seq import Seq2Seq
from rnnlab.tasks.base import BOS, EOS, PAD

V = 7  # output vocabulary: PAD, BOS, EOS and four symbols


def make(cell="gru", *, layers=2, seed=0, **options):
    torch.manual_seed(seed)
    return Seq2Seq(cell, 3, V, 8, num_layers=layers, **options).double()


def source(steps=6, batch=4, seed=1):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(steps, batch, 3, generator=generator, dtype=torch.float64)
    lengths = torch.tensor([steps, 2, 4, 1][:batch] + [steps] * max(0, batch - 4))
    return x, lengths


def random_targets(steps, batch, seed=2):
    generator = torch.Generator().manual_seed(seed)
    y = torch.randint(3, V, (steps, batch), generator=generator)
    ends = torch.randint(1, steps + 1, (batch,), generator=generator)  # tokens with the EOS
    t = torch.arange(steps).unsqueeze(1)
    y = torch.where(t == ends - 1, torch.full_like(y, EOS), y)
    return torch.where(t >= ends, torch.full_like(y, PAD), y), ends


def log_prob(model, x, lengths, tokens, token_lengths):
    """Σ_t log p(y_t | y_<t, x) of given outputs, by teacher forcing (training mode, no dropout, ρ = 1)."""
    was_training, ratio = model.training, model.teacher_forcing
    model.train()
    model.teacher_forcing = 1.0
    with torch.no_grad():
        logits, _ = model(x, lengths, targets=tokens)
    model.train(was_training)
    model.teacher_forcing = ratio
    lp = torch.log_softmax(logits, -1).gather(2, tokens.unsqueeze(2)).squeeze(2)  # (T, B)
    live = torch.arange(tokens.shape[0]).unsqueeze(1) < token_lengths
    return (lp * live).sum(0)


CONFIGS = [dict(context=c, attention=a, bidirectional_encoder=b)
           for c in ("state", "input", "both") for a in (False, True) for b in (False, True)]


# ---- shapes ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cell", ["elman_tanh", "lstm", "gru", "gru3"])
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(f"{k[:3]}={v}" for k, v in c.items()))
def test_shapes(cell, config):
    model = make(cell, **config)
    x, lengths = source()
    targets, _ = random_targets(5, 4)
    logits, state = model(x, lengths, targets=targets)
    assert logits.shape == (5, 4, V)
    if cell == "lstm":
        assert isinstance(state, LSTMState) and state.h.shape == state.c.shape == (2, 4, 8)
    else:
        assert isinstance(state, torch.Tensor) and state.shape == (2, 4, 8)
    model.eval()
    assert model(x, lengths, targets=targets)[0].shape == (5, 4, V)
    free, _ = model(x, lengths)
    assert free.dim() == 3 and free.shape[1:] == (4, V) and 1 <= free.shape[0] <= model.max_length
    tokens, out_lengths = model.decode(x, lengths, max_length=6, beam_size=2)
    assert tokens.dtype == torch.long and tokens.shape[1] == 4 and tokens.shape[0] <= 6
    assert out_lengths.shape == (4,) and int(out_lengths.max()) == tokens.shape[0]


def test_token_inputs_are_embedded():
    torch.manual_seed(0)
    model = Seq2Seq("lstm", 1, V, 8, input_vocab=5, embedding_size=4, attention=True).double()
    x = torch.randint(0, 5, (6, 3))
    logits, _ = model(x, torch.tensor([6, 3, 1]), targets=random_targets(4, 3)[0])
    assert logits.shape == (4, 3, V)
    assert model.input_embedding.weight.shape == (5, 4) and model.decoder.embedding.weight.shape == (V, 4)


def test_lstm_with_projection_and_transformed_context():
    torch.manual_seed(0)
    model = Seq2Seq("lstm", 3, V, 8, num_layers=2, proj_size=5, transform_context=True, context="both",
                    bidirectional_encoder=True, attention=True).double()
    x, lengths = source()
    logits, state = model(x, lengths, targets=random_targets(5, 4)[0])
    assert logits.shape == (5, 4, V) and state.h.shape == (2, 4, 5) and state.c.shape == (2, 4, 8)


def test_context_bridges_are_only_where_needed():
    assert len(make("lstm").bridges) == 0  # Sutskever et al.: the encoder's state, as it is
    assert sorted(make("lstm", transform_context=True).bridges) == ["l0_h", "l1_h"]  # the memory cell is copied
    assert sorted(make("lstm", bidirectional_encoder=True).bridges) == ["l0_c", "l0_h", "l1_c", "l1_h"]
    assert sorted(make("gru", context="input", bidirectional_encoder=True).bridges) == ["l1_h"]


# ---- against torch.nn ----------------------------------------------------------------------------------
def test_teacher_forcing_equals_torch_nn_encoder_decoder():
    """Sutskever et al.: the decoder starts from the encoder's final (h, c) and reads E[BOS, y_1, …]."""
    model = make("lstm", embedding_size=5)
    x = source()[0]
    targets, ends = random_targets(5, 4)
    model.train()
    logits, state = model(x, targets=targets)
    encoder, decoder = nn.LSTM(3, 8, 2).double(), nn.LSTM(5, 8, 2).double()
    encoder.load_state_dict(model.encoder.state_dict())
    decoder.load_state_dict(model.decoder.stack.state_dict())
    _, hc = encoder(x)
    fed = torch.cat([torch.full((1, 4), BOS), targets[:-1]])  # (T_out, B)
    y, _ = decoder(model.decoder.embedding(fed), hc)
    expected = model.decoder.readout(y)
    for b, n in enumerate(ends.tolist()):
        assert torch.allclose(logits[:n, b], expected[:n, b], atol=1e-10)
        _, (h, c) = decoder(model.decoder.embedding(fed[:n, b : b + 1]), tuple(s[:, b : b + 1] for s in hc))
        assert torch.allclose(state.h[:, b], h[:, 0], atol=1e-10) and torch.allclose(state.c[:, b], c[:, 0], atol=1e-10)


# ---- padding and attention masks --------------------------------------------------------------------
@pytest.mark.parametrize("cell", ["lstm", "gru3"])
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(f"{k[:3]}={v}" for k, v in c.items()))
def test_padding_does_not_change_outputs(cell, config):
    model = make(cell, **config)
    x, lengths = source()
    x = x.clone()
    x[:, 1:][torch.arange(6).unsqueeze(1) >= lengths[1:]] = 1e3  # garbage in the padding
    targets, _ = random_targets(5, 4)
    model.eval()
    logits, _ = model(x, lengths, targets=targets)
    tokens, out_lengths = model.decode(x, lengths, max_length=6, beam_size=3)
    greedy, _ = model.decode(x, lengths, max_length=6)
    for b, n in enumerate(lengths.tolist()):
        alone = x[:n, b : b + 1]
        assert torch.allclose(logits[:, b], model(alone, targets=targets[:, b : b + 1])[0][:, 0], atol=1e-5)
        t_alone, l_alone = model.decode(alone, max_length=6, beam_size=3)
        assert int(l_alone) == int(out_lengths[b])
        assert torch.equal(t_alone[:, 0], tokens[: t_alone.shape[0], b])
        g_alone, _ = model.decode(alone, max_length=6)
        assert torch.equal(g_alone[:, 0], greedy[: g_alone.shape[0], b])


@pytest.mark.parametrize("bidirectional", [False, True])
def test_attention_weights_are_zero_on_padding(bidirectional):
    model = make("lstm", attention=True, bidirectional_encoder=bidirectional)
    x, lengths = source()
    seen = []
    model.decoder.attention.register_forward_hook(lambda module, args, out: seen.append(out[1]))
    model.train()
    model(x, lengths, targets=random_targets(5, 4)[0])
    assert len(seen) == 5
    padding = torch.arange(6).unsqueeze(0) >= lengths.unsqueeze(1)  # (B, S)
    for weights in seen:  # (B, S)
        assert torch.all(weights[padding] == 0)
        assert torch.all(weights[~padding] > 0)
        assert torch.allclose(weights.sum(1), torch.ones(4, dtype=torch.float64), atol=1e-12)


def test_additive_attention_by_hand():
    """e_j = v·tanh(W s + U h_j), α = softmax over the real steps (Bahdanau et al. 2015, eq. 6, App. A.1.2)."""
    torch.manual_seed(0)
    attention = AdditiveAttention(3, 4, 5).double()
    W, U, v = attention.query.weight, attention.key.weight, attention.score.weight[0]
    s, h = torch.randn(2, 3, dtype=torch.float64), torch.randn(2, 6, 4, dtype=torch.float64)
    mask = torch.tensor([[True] * 6, [True, True, True, False, False, False]])
    context, weights = attention(s, attention.memory(h, mask))
    for b in range(2):
        n = int(mask[b].sum())
        e = torch.stack([v @ torch.tanh(W @ s[b] + U @ h[b, j]) for j in range(n)])
        alpha = torch.exp(e) / torch.exp(e).sum()
        assert torch.allclose(weights[b, :n], alpha, atol=1e-12) and torch.all(weights[b, n:] == 0)
        assert torch.allclose(context[b], (alpha.unsqueeze(1) * h[b, :n]).sum(0), atol=1e-12)


# ---- the feeding rules -----------------------------------------------------------------------------------
@pytest.mark.parametrize("attention", [False, True])  # the whole-sequence path, and step by step
def test_teacher_forcing_one_feeds_the_true_tokens(attention):
    model = make("gru", attention=attention)
    x, lengths = source()
    targets, _ = random_targets(5, 4)
    fed = []
    model.decoder.embedding.register_forward_hook(lambda module, args, out: fed.append(args[0]))
    model.train()
    model(x, lengths, targets=targets)
    fed = torch.cat([f.view(-1, 4) for f in fed])  # (T_out, B): one call of (T, B), or T calls of (B,)
    assert torch.equal(fed, torch.cat([torch.full((1, 4), BOS), targets[:-1]]))


@pytest.mark.parametrize("cell", ["lstm", "elman_tanh", "gru_v3"])
@pytest.mark.parametrize("context", ["state", "input", "both"])
def test_whole_sequence_path_equals_steps(cell, context):
    model = make(cell, context=context, bidirectional_encoder=True)
    x, lengths = source()
    targets, ends = random_targets(5, 4)
    model.train()
    fast_logits, fast_state = model(x, lengths, targets=targets)
    model.decoder.fast_paths = False
    step_logits, step_state = model(x, lengths, targets=targets)
    live = torch.arange(5).unsqueeze(1) < ends  # (T_out, B)
    assert torch.allclose(fast_logits[live], step_logits[live], atol=1e-10)
    for a, b in zip(*(([s] if isinstance(s, torch.Tensor) else s) for s in (fast_state, step_state))):
        assert torch.allclose(a, b, atol=1e-10)


def test_final_state_is_taken_at_each_target_end():
    model = make("lstm", attention=True)
    x, lengths = source()
    targets, ends = random_targets(5, 4)
    model.train()
    _, state = model(x, lengths, targets=targets)
    for b, n in enumerate(ends.tolist()):
        _, alone = model(x[: lengths[b], b : b + 1], targets=targets[:n, b : b + 1])
        assert torch.allclose(state.h[:, b], alone.h[:, 0], atol=1e-10)
        assert torch.allclose(state.c[:, b], alone.c[:, 0], atol=1e-10)


@pytest.mark.parametrize("attention", [False, True])
def test_teacher_forcing_zero_equals_eval_greedy(attention):
    model = make("lstm", attention=attention, context="both")
    x, lengths = source()
    targets, _ = random_targets(5, 4)
    model.teacher_forcing = 0.0
    model.train()
    train_logits, train_state = model(x, lengths, targets=targets)
    model.eval()
    eval_logits, eval_state = model(x, lengths, targets=targets)
    assert torch.equal(train_logits, eval_logits) and torch.equal(train_state.h, eval_state.h)


def test_teacher_forcing_ratio_mixes_truth_and_predictions():
    model = make("gru", teacher_forcing=0.5)
    x, lengths = source(batch=16)
    targets = torch.randint(3, V, (8, 16))
    fed, logits = [], []
    model.decoder.embedding.register_forward_hook(lambda module, args, out: fed.append(args[0]))
    model.decoder.readout.register_forward_hook(lambda module, args, out: logits.append(out))
    model.train()
    torch.manual_seed(3)
    first, _ = model(x, lengths, targets=targets)
    truth = prediction = 0
    for t in range(1, 8):
        is_truth, is_prediction = fed[t] == targets[t - 1], fed[t] == logits[t - 1].argmax(-1)
        assert torch.all(is_truth | is_prediction)
        truth, prediction = truth + int(is_truth.sum()), prediction + int((is_prediction & ~is_truth).sum())
    assert truth > 20 and prediction > 20  # about half of 7·16 each way
    torch.manual_seed(3)
    assert torch.equal(model(x, lengths, targets=targets)[0], first)  # the draws come from torch's RNG


@pytest.mark.parametrize("config", CONFIGS[::3], ids=str)
def test_eval_with_targets_equals_decode(config):
    model = make("lstm", **config).eval()
    x, lengths = source()
    tokens, out_lengths = model.decode(x, lengths, max_length=8)
    logits, _ = model(x, lengths, targets=torch.full((8, 4), 3))  # targets only set the number of steps
    predicted = logits.argmax(-1)
    free, _ = model(x, lengths)  # without targets: greedy, as decode
    for b, n in enumerate(out_lengths.tolist()):
        assert torch.equal(predicted[:n, b], tokens[:n, b])
        assert torch.equal(free.argmax(-1)[:n, b], tokens[:n, b])
        assert torch.all(tokens[n:, b] == PAD)
        assert n == 8 or tokens[n - 1, b] == EOS


# ---- decoding -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("cell", ["gru", "lstm"])
@pytest.mark.parametrize("config", CONFIGS[::2], ids=str)
def test_beam_of_one_is_greedy(cell, config):
    model = make(cell, **config).eval()
    x, lengths = source()
    greedy, greedy_lengths = model.decode(x, lengths, max_length=8)
    beam, beam_lengths = model.decode(x, lengths, max_length=8, beam_size=1)
    search = beam_search(model.decoder.step, model.encode(x, lengths), 4, 1, 8)  # the search itself, K = 1
    assert torch.equal(greedy, beam) and torch.equal(greedy_lengths, beam_lengths)
    assert torch.equal(search.tokens, greedy) and torch.equal(search.lengths, greedy_lengths)


@pytest.mark.parametrize("attention", [False, True])
def test_beam_finds_at_least_greedy_log_probability(attention):
    better = 0
    for seed in range(5):
        model = make("lstm", seed=seed, attention=attention, bidirectional_encoder=True).eval()
        with torch.no_grad():
            model.decoder.readout.weight.mul_(8)  # sharper distributions: EOS within reach, beams disagree
        x, lengths = source(batch=8, seed=seed)
        greedy, greedy_lengths = model.decode(x, lengths, max_length=6)
        greedy_lp = log_prob(model, x, lengths, greedy, greedy_lengths)
        for k in (2, 4):
            tokens, out_lengths = model.decode(x, lengths, max_length=6, beam_size=k)
            lp = log_prob(model, x, lengths, tokens, out_lengths)
            assert torch.all(lp >= greedy_lp - 1e-9), (seed, k, lp, greedy_lp)
            with torch.no_grad():
                search = beam_search(model.decoder.step, model.encode(x, lengths), 8, k, 6)
            assert torch.allclose(search.scores, lp, atol=1e-10)  # its scores are the sequences' log p
            better += int((lp > greedy_lp + 1e-6).sum())
    assert better >= 5  # the search does find more probable outputs than greedy decoding


def test_beam_search_is_exhaustive_when_the_beam_holds_every_prefix():
    model = make("gru", layers=1, seed=3).eval()
    x, lengths = source(batch=2)
    tokens, out_lengths = model.decode(x, lengths, max_length=3, beam_size=V**3)
    best = log_prob(model, x, lengths, tokens, out_lengths)
    codes = torch.arange(V**3)
    every = torch.stack([codes // V**2, codes // V % V, codes % V])  # (3, V³): every output of 3 tokens
    every_lengths = target_lengths(every)  # cut at the first EOS
    every = every.masked_fill(torch.arange(3).unsqueeze(1) >= every_lengths, PAD)
    for b in range(2):
        alone = x[: lengths[b], b : b + 1].expand(-1, V**3, -1)
        scores = log_prob(model, alone, None, every, every_lengths)
        assert math.isclose(float(best[b]), float(scores.max()), abs_tol=1e-9)


def test_length_penalty_prefers_longer_outputs():
    model = make("gru", seed=4).eval()
    with torch.no_grad():
        model.decoder.readout.weight.mul_(4)
    x, lengths = source(batch=8)
    plain = model.decode(x, lengths, max_length=8, beam_size=4)[1]
    normalised = model.decode(x, lengths, max_length=8, beam_size=4, length_penalty=1.0)[1]
    assert torch.all(normalised >= plain)  # same beams; a lower score wins only by being longer


@pytest.mark.parametrize("beam_size", [1, 3])
def test_max_length_is_respected(beam_size):
    model = make("gru", max_length=4).eval()
    x, lengths = source()
    with torch.no_grad():
        model.decoder.readout.bias[EOS] = -1e9  # never EOS
    tokens, out_lengths = model.decode(x, lengths, beam_size=beam_size)
    assert tokens.shape == (4, 4) and torch.all(out_lengths == 4) and torch.all(tokens != EOS)
    assert model.decode(x, lengths, max_length=2, beam_size=beam_size)[0].shape == (2, 4)
    assert model(x, lengths)[0].shape == (4, 4, V)
    with torch.no_grad():
        model.decoder.readout.bias[EOS] = 1e9  # always EOS: done after one step
    tokens, out_lengths = model.decode(x, lengths, beam_size=beam_size)
    assert torch.equal(tokens, torch.full((1, 4), EOS)) and torch.all(out_lengths == 1)
    assert model(x, lengths)[0].shape == (1, 4, V)


# ---- errors -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("options, message", [
    (dict(context="hidden"), "context must be one of 'state', 'input', 'both'; got 'hidden'"),
    (dict(teacher_forcing=1.5), r"teacher_forcing must be a number in \[0, 1\]; got 1.5"),
    (dict(teacher_forcing=-0.1), r"teacher_forcing must be a number in \[0, 1\]; got -0.1"),
    (dict(max_length=0), "max_length must be an int >= 1; got 0"),
    (dict(input_vocab=0), "input_vocab must be an int >= 1; got 0"),
    (dict(embedding_size=0), "embedding_size must be an int >= 1; got 0"),
    (dict(cell="tanh"), "unknown cell 'tanh'"),
    (dict(output_size=2), r"output_size must be an int >= 3 \(PAD, BOS and EOS are the first three symbols\); got 2"),
])
def test_bad_constructor_arguments(options, message):
    args = dict(cell="gru", input_size=3, output_size=V, hidden_size=8) | options
    with pytest.raises(ValueError, match=message):
        Seq2Seq(**args)


def test_bad_flags_and_setter():
    with pytest.raises(TypeError, match="attention must be a bool; got 1"):
        Seq2Seq("gru", 3, V, 8, attention=1)
    model = make()
    with pytest.raises(ValueError, match=r"teacher_forcing must be a number in \[0, 1\]; got 2"):
        model.teacher_forcing = 2


def test_bad_call_arguments():
    model = make("lstm", bidirectional_encoder=True)
    x, lengths = source()
    cases = [
        (lambda: model(x[..., :2]), r"Seq2Seq expects inputs of shape \(T, B, 3\) float; got \(6, 4, 2\)"),
        (lambda: model(x[:, :, 0]), r"expects inputs of shape \(T, B, 3\) float; got \(6, 4\)"),
        (lambda: model(x.long()), r"got \(6, 4, 3\) torch.int64; token ids need input_vocab="),
        (lambda: model(x, targets=torch.zeros(5, 3, dtype=torch.long)),
         r"targets of shape \(T_out >= 1, B=4\) int64; got \(5, 3\)"),
        (lambda: model(x, targets=torch.zeros(5, 4)), r"int64; got \(5, 4\) torch.float32"),
        (lambda: model(x, targets=torch.full((5, 4), V)),
         r"target tokens must lie in \[0, output_size=7\); got values from 7 to 7"),
        (lambda: model(x, lengths=torch.tensor([7, 1, 1, 1])), r"lengths must lie in \[1, L=6\]"),
        (lambda: model(x, state=(torch.zeros(2, 4, 8), torch.zeros(2, 4, 8))), r"expected h0 of shape \(4, 4, 8\)"),
        (lambda: model.decode(x, beam_size=0), "beam_size must be an int >= 1; got 0"),
        (lambda: model.decode(x, max_length=0), "max_length must be an int >= 1; got 0"),
        (lambda: model.decode(x, length_penalty=-1.0), "length_penalty must be a number >= 0; got -1.0"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()
    tokens = Seq2Seq("gru", 1, V, 8, input_vocab=5)
    with pytest.raises(ValueError, match=r"input tokens must lie in \[0, input_vocab=5\); got values from 0 to 5"):
        tokens(torch.tensor([[0, 5]]))
    with pytest.raises(ValueError, match=r"token ids of shape \(T, B\) int64 \(input_vocab=5\); got \(2, 1, 1\)"):
        tokens(torch.zeros(2, 1, 1))


# ---- learning ---------------------------------------------------------------------------------------
def reversal_batch(batch, generator, symbols=4):
    """Sources of 3–5 symbols (ids 3 … 3+symbols−1, PAD after the end) and their reversals with EOS."""
    lengths = torch.randint(3, 6, (batch,), generator=generator)
    x = torch.randint(3, 3 + symbols, (5, batch), generator=generator)
    t = torch.arange(5).unsqueeze(1)
    x = x.masked_fill(t >= lengths, PAD)
    reverse = torch.where(t < lengths, (lengths - 1 - t).clamp(min=0), t)  # (5, B)
    y = torch.cat([x.gather(0, reverse), torch.full((1, batch), PAD)])  # (6, B)
    y[lengths, torch.arange(batch)] = EOS
    return x, lengths, y


def test_learns_to_reverse_sequences():
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    model = Seq2Seq("lstm", 1, 7, 48, input_vocab=7, embedding_size=16, max_length=8)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        x, lengths, y = reversal_batch(64, generator)
        logits, _ = model(x, lengths, targets=y)
        loss = nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten(), ignore_index=PAD)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    x, lengths, y = reversal_batch(200, torch.Generator().manual_seed(123))
    tokens, out_lengths = model.decode(x, lengths)
    steps = max(tokens.shape[0], y.shape[0])
    pad = lambda t: torch.cat([t, torch.full((steps - t.shape[0], t.shape[1]), PAD)])  # noqa: E731
    exact = (pad(tokens) == pad(y)).all(0).double().mean()
    assert exact >= 0.9, float(exact)

"""HistoryCompressor: lossless compress/reconstruct, events from the prediction failures, batching, losses,
the collapsed variant, bad inputs, and learning the 20-step lag through the trainer."""

import tempfile

import pytest
import torch
import torch.nn.functional as F

from rnnlab.config import TrainConfig
from rnnlab.models import SequenceTagger
from rnnlab.models.history_codec import Compressed, Events
from rnnlab.models.history_compressor import HistoryCompressor
from rnnlab.tasks.chunk_lag import ChunkLagTask
from rnnlab.training.trainer import Trainer


def _model(seed=0, **options):
    torch.manual_seed(seed)
    settings = dict(hidden_size=8, input_vocab=3, cell="lstm", levels=2)
    settings.update(options)
    return HistoryCompressor(None, 2, **settings)


def _sequences(count, length, vocab, seed):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randint(0, vocab, (length,), generator=generator) for _ in range(count)]


# ---- lossless ---------------------------------------------------------------------------------------
def _opinionated(model):
    """Untrained, but with readouts whose argmax follows the state (no bias, large weights) and gap heads that
    always say 1: so that random sequences meet right predictions at every level, not only misses."""
    with torch.no_grad():
        for level in model.levels:
            level.predict_symbol.bias.zero_()
            level.predict_symbol.weight.mul_(10)
            if level.predict_gaps is not None:
                level.predict_gaps.weight.zero_()
                level.predict_gaps.bias.zero_()
                level.predict_gaps.bias[0::model.max_gap] = 1.0  # class 0 (a gap of 1) of every stamp
    return model


@pytest.mark.parametrize("cell", ["lstm", "elman_tanh", "gru"])
@pytest.mark.parametrize("levels", [1, 2, 3, 4])
def test_reconstruct_gives_back_random_sequences_of_an_untrained_model(cell, levels):
    # θ = 0: a prediction counts as right whenever its argmax is, so that levels keep some elements and
    # predict others (the test would be empty if every element were passed up)
    model = _opinionated(_model(cell=cell, levels=levels, input_vocab=2, threshold=0.0, max_gap=3))
    dropped = [0] * levels
    for sequence in _sequences(6, 60, 2, seed=levels):
        compressed = model.compress(sequence)
        assert compressed.counts[0] == 60 and len(compressed.counts) == levels
        assert torch.equal(model.reconstruct(compressed), sequence)
        for k in range(1, levels):
            dropped[k] += compressed.counts[k - 1] - compressed.counts[k]
    assert all(n > 0 for n in dropped[1:3])  # levels 0 and 1 predicted some of their elements


@pytest.mark.parametrize("threshold", [0.0, 0.5, 0.9, 1.0])
def test_reconstruct_is_exact_at_any_threshold(threshold):
    model = _opinionated(_model(levels=3, input_vocab=4, threshold=threshold, max_gap=4, time_input=True))
    for sequence in _sequences(4, 40, 4, seed=7):
        assert torch.equal(model.reconstruct(model.compress(sequence)), sequence)


def test_reconstruct_reads_the_top_level_and_the_counts_alone():
    model = _opinionated(_model(levels=3, input_vocab=2, threshold=0.0, max_gap=3))
    (sequence,) = _sequences(1, 80, 2, seed=3)
    compressed = model.compress(sequence)
    bare = Compressed(compressed.counts, (None, None, compressed.levels[-1]))
    assert torch.equal(model.reconstruct(bare), sequence)
    assert compressed.counts[2] < compressed.counts[1] < compressed.counts[0]


def test_compress_stamps_the_missed_elements_with_their_positions_below():
    model = _opinionated(_model(levels=3, input_vocab=2, threshold=0.0, max_gap=3))
    (sequence,) = _sequences(1, 50, 2, seed=4)
    level0, level1, level2 = model.compress(sequence).levels
    assert torch.equal(level0.symbols, sequence) and level0.stamps.shape == (50, 0)
    assert torch.equal(level1.symbols, sequence[level1.times]) and level1.stamps.shape[1] == 1
    # a level-2 element is a level-1 element: its second stamp is its place in level 1's sequence
    assert torch.equal(level1.stamps[level2.stamps[:, 1]], level2.stamps[:, :1])
    assert torch.equal(level2.symbols, sequence[level2.times])
    assert Compressed((50, len(level1.symbols), len(level2.symbols)), ()).ratios() == \
        [50 / len(level1.symbols), 50 / len(level2.symbols)]


def test_real_valued_inputs_come_back_within_the_threshold():
    torch.manual_seed(0)
    model = HistoryCompressor(3, 2, hidden_size=8, levels=2, threshold=0.6)
    generator = torch.Generator().manual_seed(0)
    for _ in range(4):
        sequence = torch.randn(40, 3, generator=generator) * 0.5
        compressed = model.compress(sequence)
        back = model.reconstruct(compressed)
        assert 0 < compressed.counts[1] < 40  # some steps predicted within θ, some not
        assert (back - sequence).abs().max() <= 0.6
        kept = compressed.levels[1].times
        assert torch.equal(back[kept], sequence[kept])  # the elements passed up come back exactly


def test_a_trained_compressor_compresses_the_task_and_still_reconstructs_exactly():
    task = ChunkLagTask(ChunkLagTask.Config(lag=5, blocks=4))
    model = _train(task, HistoryCompressor, steps=60, lr=0.01)
    batch = task.sample(4, torch.Generator().manual_seed(9))
    for b in range(4):
        compressed = model.compress(batch.inputs[:, b])
        assert compressed.counts[1] <= 4 + 1  # the four unpredictable first symbols (and at most one more)
        assert torch.equal(model.reconstruct(compressed), batch.inputs[:, b])
    for sequence in _sequences(4, 24, task.symbols, seed=1):  # sequences unlike the task's: little to drop
        assert torch.equal(model.reconstruct(model.compress(sequence)), sequence)


# ---- events, batching -----------------------------------------------------------------------------
def test_level_1_receives_exactly_what_level_0_failed_to_predict():
    model = _model(input_vocab=3, threshold=0.4)
    x = torch.randint(0, 3, (25, 5), generator=torch.Generator().manual_seed(0))
    received = []
    run = model.levels[1].run
    model.levels[1].run = lambda symbols, gaps: received.append((symbols, gaps)) or run(symbols, gaps)
    _, state = model(x)
    # level 0 by hand: torch.nn.LSTM with its weights, then the prediction of each step from the step before
    level0 = model.levels[0]
    lstm = torch.nn.LSTM(8, 8)
    lstm.load_state_dict({k + "_l0": v for k, v in level0.cell.state_dict().items()})
    y, _ = lstm(level0.embedding(x))
    logits = level0.predict_symbol(torch.cat([torch.zeros(1, 5, 8), y[:-1]]))
    p = logits.softmax(2).gather(2, x.unsqueeze(2)).squeeze(2)
    missed = ~((logits.argmax(2) == x) & (p >= 0.4))  # (T, B)
    assert torch.equal(state.events[0], missed)
    (symbols, gaps), = received
    for b in range(5):
        times = missed[:, b].nonzero().squeeze(1)
        n = len(times)
        assert torch.equal(symbols[:n, b], x[times, b])  # level 1 runs once per event, on the missed symbol
        assert torch.equal(gaps[:n, b, 0], torch.diff(times, prepend=torch.tensor([-1])))


def test_the_top_level_changes_its_output_only_at_its_events():
    model = _opinionated(_model(levels=3, input_vocab=2, threshold=0.0, max_gap=3))
    x = torch.randint(0, 2, (40, 6), generator=torch.Generator().manual_seed(1))
    outputs, state = model(x)
    top_events = state.events[-1]  # (T, B)
    assert 0 < int(top_events.sum()) < int(state.events[0].sum()) < 40 * 6
    same = (outputs[1:] == outputs[:-1]).all(2)  # (T − 1, B)
    assert torch.equal(same, ~top_events[1:])  # unchanged exactly where the top level received nothing


def test_compress_finds_the_events_of_forward():
    model = _opinionated(_model(levels=3, input_vocab=2, threshold=0.3, max_gap=3))
    x = torch.randint(0, 2, (50, 4), generator=torch.Generator().manual_seed(2))
    _, state = model(x)
    for b in range(4):
        compressed = model.compress(x[:, b])
        for k in (1, 2):
            assert torch.equal(compressed.levels[k].times, state.events[k - 1][:, b].nonzero().squeeze(1))


@pytest.mark.parametrize("tokens", [True, False])
def test_a_padded_batch_equals_each_sequence_alone(tokens):
    torch.manual_seed(0)
    if tokens:
        model = _opinionated(HistoryCompressor(None, 3, hidden_size=8, input_vocab=3, levels=3, threshold=0.3,
                                               max_gap=4))
        x = torch.randint(0, 3, (30, 5), generator=torch.Generator().manual_seed(0))
    else:
        model = HistoryCompressor(2, 3, hidden_size=8, levels=2, threshold=0.5)
        x = torch.randn(30, 5, 2, generator=torch.Generator().manual_seed(0)) * 0.4
    lengths = torch.tensor([30, 12, 1, 29, 20])
    outputs, state = model(x, lengths)
    assert all(0 < int(events.sum()) < int(lengths.sum()) for events in state.events)  # some steps predicted
    for b in range(5):
        n = int(lengths[b])
        alone, alone_state = model(x[:n, b:b + 1], None)
        assert torch.allclose(outputs[:n, b], alone[:, 0], atol=1e-6)
        assert (outputs[n:, b] == 0).all()
        for batched, single in zip(state.events, alone_state.events):
            assert torch.equal(batched[:n, b], single[:, 0]) and not batched[n:, b].any()
        for batched, single in zip(state.final_outputs, alone_state.final_outputs):  # each level's last output
            assert torch.allclose(batched[b], single[0], atol=1e-6)


def test_padding_never_changes_a_real_step():
    model = _model(levels=2, input_vocab=3, threshold=0.3)
    x = torch.randint(0, 3, (20, 3), generator=torch.Generator().manual_seed(0))
    lengths = torch.tensor([20, 7, 13])
    other = x.clone()
    other[7:, 1] = (other[7:, 1] + 1) % 3
    other[13:, 2] = (other[13:, 2] + 2) % 3
    a, state_a = model(x, lengths)
    b, state_b = model(other, lengths)
    assert torch.equal(a, b) and torch.equal(state_a.auxiliary_loss, state_b.auxiliary_loss)


# ---- losses and gradients ----------------------------------------------------------------------------
def test_the_auxiliary_loss_is_the_levels_prediction_losses():
    model = _model(levels=1, input_vocab=3)
    x = torch.randint(0, 3, (12, 4), generator=torch.Generator().manual_seed(0))
    _, state = model(x)
    level = model.levels[0]
    y, _ = level.cell.sequence(level.embedding(x), level.cell.initial_state(4))
    logits = level.predict_symbol(torch.cat([torch.zeros(1, 4, 8), y[:-1]]))  # (T, B, V)
    expected = F.cross_entropy(logits.flatten(0, 1), x.flatten())
    assert torch.allclose(state.auxiliary_loss, expected, atol=1e-6)
    assert torch.allclose(state.prediction_losses, expected.detach().unsqueeze(0), atol=1e-6)


def test_the_task_trains_the_top_level_and_the_predictions_train_every_level():
    model = _model(levels=3, input_vocab=2, threshold=0.0, max_gap=3)
    x = torch.randint(0, 2, (30, 4), generator=torch.Generator().manual_seed(0))
    outputs, state = model(x)
    outputs.sum().backward()
    for k in (0, 1):  # the elements passed up are data: the task's loss does not reach the levels below
        assert all(p.grad is None for p in model.levels[k].parameters())
    assert model.levels[2].cell.weight_ih.grad.abs().sum() > 0 and model.head.weight.grad is not None
    model.zero_grad(set_to_none=True)
    _, state = model(x)
    state.auxiliary_loss.backward()
    for k in range(3):
        assert model.levels[k].cell.weight_ih.grad.abs().sum() > 0
        assert model.levels[k].predict_symbol.weight.grad.abs().sum() > 0
    assert model.levels[1].predict_gaps.weight.grad.abs().sum() > 0 and model.levels[0].predict_gaps is None


def test_the_collapsed_automatiser_is_trained_to_predict_the_chunkers_state():
    model = _model(levels=2, input_vocab=3, threshold=0.5, collapsed=True)
    x = torch.randint(0, 3, (20, 3), generator=torch.Generator().manual_seed(0))
    outputs, state = model(x)
    assert state.automatiser_outputs.shape == outputs.shape and state.distillation_loss > 0
    assert torch.allclose(state.auxiliary_loss, state.prediction_losses.sum() + state.distillation_loss)
    # by hand: the chunker's output after its last element, and A's guess of it
    level0, level1 = model.levels
    y0 = level0.run(x, None)
    chunker = torch.zeros(20, 3, 8)
    for b in range(3):
        times = state.events[0][:, b].nonzero().squeeze(1)
        y1 = level1.run(x[times, b:b + 1], torch.diff(times, prepend=torch.tensor([-1])).view(-1, 1, 1))
        for t in range(20):
            before = int((times <= t).sum())
            chunker[t, b] = y1[before - 1, 0] if before else 0.0
    guess = model.distil(y0)
    assert torch.allclose(state.distillation_loss, (guess - chunker).pow(2).mean(), atol=1e-6)
    assert torch.allclose(state.automatiser_outputs, model.head(guess), atol=1e-6)
    model.zero_grad(set_to_none=True)
    state.auxiliary_loss.backward()
    assert model.distil.weight.grad.abs().sum() > 0


def test_compression_ratios_count_input_steps_per_element():
    model = _opinionated(_model(levels=3, input_vocab=2, threshold=0.0, max_gap=3))
    x = torch.randint(0, 2, (40, 3), generator=torch.Generator().manual_seed(0))
    lengths = torch.tensor([40, 30, 10])
    _, state = model(x, lengths)
    expected = [80 / float(events.sum()) for events in state.events]
    assert model.compression_ratios(x, lengths) == pytest.approx(expected)
    assert expected[0] > 1 and expected[1] > expected[0]


# ---- bad inputs ------------------------------------------------------------------------------------
@pytest.mark.parametrize("options, message", [
    (dict(levels=0), "levels must be an int >= 1; got 0"),
    (dict(levels=3, collapsed=True), "needs levels=2; got levels=3"),
    (dict(threshold=1.5), "in [0, 1]; got 1.5"),
    (dict(threshold="high"), "threshold must be a number; got 'high'"),
    (dict(max_gap=1), "max_gap must be an int >= 2; got 1"),
    (dict(collapsed="yes"), "collapsed must be true or false; got 'yes'"),
    (dict(cell="lstmm"), "unknown cell 'lstmm'"),
    (dict(cell="elman_tanh", forget_bias=1.0), "does not take the option 'forget_bias'"),
])
def test_bad_settings_are_refused_with_a_message(options, message):
    with pytest.raises((ValueError, TypeError), match=message.replace("[", r"\[").replace("(", r"\(")):
        _model(**options)


def test_bad_inputs_are_refused_with_a_message():
    model = _model()
    x = torch.zeros(5, 2, dtype=torch.long)
    with pytest.raises(ValueError, match="takes no state"):
        model(x, state=(torch.zeros(2, 8),))
    with pytest.raises(ValueError, match=r"token ids must lie in \[0, 3\)"):
        model(x + 3)
    with pytest.raises(TypeError, match="integer token ids"):
        model(x.float())
    with pytest.raises(ValueError, match=r"one length in \[1, T=5\] per sequence \(B=2\); got \[5, 0\]"):
        model(x, torch.tensor([5, 0]))
    real = HistoryCompressor(3, 2, hidden_size=4)
    with pytest.raises(ValueError, match=r"expects x of shape \(T, B, 3\) \(token ids need input_vocab"):
        real(x)
    with pytest.raises(TypeError, match="does not match the parameters' dtype"):
        real(torch.zeros(5, 2, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"one sequence of token ids, a 1-D integer tensor \(T,\)"):
        model.compress(x)
    with pytest.raises(ValueError, match=r"compress: token ids must lie in \[0, 3\)"):
        model.compress(torch.tensor([0, 5]))
    with pytest.raises(ValueError, match="the Compressed record of a 2-level model"):
        model.reconstruct(Compressed((5,), (None,)))
    bad = Compressed((5, 2), (None, Events(torch.tensor([[3], [1]]), torch.tensor([0, 1]))))
    with pytest.raises(ValueError, match=r"stamps on level 0's clock must increase within \[0, 5\); got \[3, 1\]"):
        model.reconstruct(bad)
    three = HistoryCompressor(3, 2, hidden_size=4, levels=3)
    sequence = torch.zeros(4, 3)
    with pytest.raises(ValueError, match="from two levels only"):
        three.reconstruct(three.compress(sequence))


# ---- learning through the trainer ----------------------------------------------------------------------
def _train(task, build, *, steps, lr, hidden=16, cell="elman_tanh", seed=0, batch_size=32, eval_size=500,
           stop_when="accuracy >= 0.99", **options):
    """Train a model on ``task`` through the Trainer (evaluation every 10 steps, by default stopping at 99%)."""
    torch.manual_seed(seed)
    if build is HistoryCompressor:
        model = HistoryCompressor(task.input_size, task.output_size, hidden_size=hidden, input_vocab=task.input_vocab,
                                  cell=cell, levels=2, threshold=0.9, **options)
    else:
        model = SequenceTagger(cell, None, hidden, task.output_size, input_vocab=task.input_vocab)
    settings = TrainConfig(steps=steps, batch_size=batch_size, lr=lr, eval_every=10, eval_size=eval_size,
                           checkpoint_every=10_000, log_every=10, seed=seed, stop_when=stop_when)
    with tempfile.TemporaryDirectory() as directory:
        Trainer(model, task, settings, directory, log=lambda _: None, progress_bar=False).fit()
    return model


def _fresh_accuracy(task, model, seed=12345):
    model.eval()
    with torch.no_grad():
        right = [task.metrics(model(b.inputs)[0], b)["accuracy"] for b in task.eval_set(1000, seed=seed)]
    return sum(right) / len(right)


def test_the_compressor_learns_a_short_lag():
    task = ChunkLagTask(ChunkLagTask.Config(lag=5, blocks=4))
    model = _train(task, HistoryCompressor, steps=200, lr=0.01)
    assert _fresh_accuracy(task, model) >= 0.99


@pytest.mark.slow
def test_the_compressor_solves_the_20_step_lag_where_a_single_elman_net_does_not():
    task = ChunkLagTask()  # the paper's lag of 20, sequences of 10 blocks
    budget = dict(steps=400, lr=0.01, hidden=32, batch_size=8)  # the task's recommended settings, fewer steps
    compressor = _train(task, HistoryCompressor, **budget)
    assert _fresh_accuracy(task, compressor) >= 0.99
    assert compressor.compression_ratios(task.sample(32, torch.Generator().manual_seed(3)).inputs)[0] > 15
    elman = _train(task, SequenceTagger, **budget)  # the same budget: 400 steps of 8 sequences of 10 blocks
    assert _fresh_accuracy(task, elman) < 0.6  # chance is 0.5


@pytest.mark.slow
def test_the_collapsed_automatiser_alone_learns_the_20_step_lag():
    task = ChunkLagTask()
    model = _train(task, HistoryCompressor, steps=300, lr=0.01, hidden=32, batch_size=8, stop_when=None,
                   collapsed=True)
    model.eval()
    with torch.no_grad():
        (batch,) = task.eval_set(500, seed=12345)
        alone = model(batch.inputs)[1].automatiser_outputs  # A's own answers: the head on its guess of C's state
    assert task.metrics(alone, batch)["accuracy"] >= 0.99  # an Elman cell across 20 steps, taught by the chunker


# ---- level 0's predictions (the compressor pictures' surprise) -----------------------------------------------
def test_input_predictions_are_level_0s_step_by_step_predictions_and_give_its_misses():
    model = _model(input_vocab=3, threshold=0.4)
    x = torch.randint(0, 3, (20, 3), generator=torch.Generator().manual_seed(5))
    lengths = torch.tensor([20, 13, 7])
    scores = model.input_predictions(x, lengths)  # (T, B, V)
    level = model.levels[0]
    for b, n in enumerate(lengths.tolist()):  # one step at a time, as compress runs level 0
        state, y = level.cell.initial_state(1), torch.zeros(1, 8)
        for t in range(n):
            torch.testing.assert_close(scores[t, b], level.predict(y)[0][0], atol=1e-6, rtol=1e-5)
            y, state = level.step(x[t, b:b + 1], None, state)
        assert bool((scores[n:, b] == 0).all())  # zeros at padded steps
    _, state = model(x, lengths)
    real = torch.arange(20).unsqueeze(1) < lengths
    assert torch.equal(~level.hits(scores, None, x, None, model.threshold) & real, state.events[0])


def test_input_predictions_of_real_valued_inputs_run_the_closed_loop():
    torch.manual_seed(0)
    model = HistoryCompressor(3, 2, hidden_size=8, levels=2, threshold=0.6)
    x = torch.randn(15, 2, 3, generator=torch.Generator().manual_seed(6)) * 0.5
    predictions = model.input_predictions(x)  # (T, B, I)
    _, state = model(x)
    missed = ~model.levels[0].hits(predictions, None, x, None, model.threshold)
    assert predictions.shape == (15, 2, 3) and 0 < int(missed.sum()) < 30
    assert torch.equal(missed, state.events[0])

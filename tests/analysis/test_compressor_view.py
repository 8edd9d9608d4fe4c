"""analysis.compressor_view: a hand-wired compressor on a short chunk_lag stream (level 0 predicts every b and
misses every a or x; level 1 expects a four steps on) whose surprise, events, counts and answers are known by
hand; the surprise against −log p recomputed step by step from level 0's outputs; the numbers against
compress() and the state's events; the marks and colours drawn; every bad input's message; and
`rnnlab eval --plots` on a short history-compressor run."""

import math

import matplotlib
import numpy as np
import pytest
import torch

from rnnlab import cli, config, runs
from rnnlab.analysis import compressor_view
from rnnlab.analysis.compressor_view import (LEVEL_COLOURS, PREDICTED, CompressorTrace, compressor_numbers,
                                             compressor_trace, draw_compressor_events, events_picture, shown_steps,
                                             symbol_names)
from rnnlab.analysis.tree_view import RIGHT, WRONG
from rnnlab.models.history_compressor import HistoryCompressor
from rnnlab.tasks.base import Batch
from rnnlab.tasks.chunk_lag import ChunkLagTask

matplotlib.use("Agg")
PNG = b"\x89PNG\r\n\x1a\n"
LAG = 3  # symbols a x b1 b2 b3 (ids 0-4), blocks of 4 steps, the label at each block's last step
FIRST = [[1, 0], [0, 0], [0, 1], [1, 1]]  # (blocks, B): sequence 0 is x a a x, sequence 1 a a x x
LOGIT = 20.0  # the hand-wired readouts' confidence


def _task() -> ChunkLagTask:
    return ChunkLagTask(ChunkLagTask.Config(lag=LAG, blocks=4))


def _batch() -> Batch:
    return _task().make_batch(torch.tensor(FIRST))  # inputs (16, 2)


@torch.no_grad()
def _hand_model(levels: int = 2) -> HistoryCompressor:
    """Level 0 holds the current symbol (h ≈ its one-hot vector) and predicts the next: a, x -> b1, b1 -> b2,
    b2 -> b3, b3 -> a or x (1/2 each); from the zero state at t = 0 it is uniform.  So it misses exactly the
    first step of every block.  Level 1 (of three) expects a, 4 steps after its previous element: it passes up
    the first element (its gap is 1) and every x.  The head always answers a."""
    torch.manual_seed(0)
    V = LAG + 2
    model = HistoryCompressor(None, 2, hidden_size=V, input_vocab=V, cell="elman_tanh", levels=levels, threshold=0.9,
                              max_gap=8)
    level = model.levels[0]
    level.embedding.weight.copy_(torch.eye(V))
    level.cell.weight_ih.copy_(10 * torch.eye(V))
    level.cell.weight_hh.zero_()
    level.cell.bias_ih.zero_()
    level.cell.bias_hh.zero_()
    successor = torch.zeros(V, V)  # [next, current]
    successor[2, 0] = successor[2, 1] = LOGIT  # a, x -> b1
    for b in range(2, V - 1):
        successor[b + 1, b] = LOGIT  # b_i -> b_{i+1}
    successor[0, V - 1] = successor[1, V - 1] = LOGIT  # b3 -> a or x
    level.predict_symbol.weight.copy_(successor)
    level.predict_symbol.bias.zero_()
    if levels == 3:
        upper = model.levels[1]
        upper.predict_symbol.weight.zero_()
        upper.predict_symbol.bias.copy_(torch.tensor([LOGIT, 0, 0, 0, 0]))  # a
        upper.predict_gaps.weight.zero_()
        upper.predict_gaps.bias.zero_()
        upper.predict_gaps.bias[LAG] = LOGIT  # class 3: a gap of 4 steps
    model.head.weight.zero_()
    model.head.bias.copy_(torch.tensor([1.0, 0.0]))  # always a
    return model


# ---- the hand-wired case ----------------------------------------------------------------------------------------

def test_the_hand_wired_trace_is_surprised_only_at_each_blocks_first_symbol():
    trace = compressor_trace(_hand_model(), _batch(), 0, task=_task())
    assert trace.names == ["x", "b1", "b2", "b3", "a", "b1", "b2", "b3", "a", "b1", "b2", "b3", "x", "b1", "b2", "b3"]
    starts = [0, 4, 8, 12]
    assert np.flatnonzero(trace.passed).tolist() == starts
    assert np.flatnonzero(trace.events[0]).tolist() == starts
    assert trace.surprise[0] == pytest.approx(math.log(5), abs=1e-6)  # uniform from the zero state
    assert trace.surprise[[4, 8, 12]] == pytest.approx([math.log(2)] * 3, abs=1e-6)  # a or x, 1/2 each
    assert np.delete(trace.surprise, starts).max() < 1e-6  # every b predicted
    assert trace.threshold == pytest.approx(-math.log(0.9))
    assert np.flatnonzero(trace.targets >= 0).tolist() == [3, 7, 11, 15]
    assert trace.targets[[3, 7, 11, 15]].tolist() == [1, 0, 0, 1]  # x a a x
    assert trace.answers[[3, 7, 11, 15]].tolist() == [0, 0, 0, 0]  # the head always answers a
    assert trace.class_names == ["a", "x"] and trace.automatiser_answers is None and trace.tokens


def test_the_numbers_of_the_hand_wired_case_agree_with_compress_and_the_states_events():
    model, batch = _hand_model(levels=3), _batch()
    numbers = compressor_numbers(model, batch, task=_task())
    # level 1: every block's first symbol; level 2: level 1's first element (gap 1, not 4) and every x
    assert numbers.steps == 32 and numbers.events == (8, 5)
    assert numbers.ratios == pytest.approx((4.0, 6.4))
    assert numbers.kept == ({"a": 4, "x": 4}, {"a": 1, "x": 4})
    assert (numbers.labels, numbers.right) == (8, 4)  # the labels that are a
    _, state = model(batch.inputs)
    assert numbers.events == tuple(int(m.sum()) for m in state.events)
    assert list(numbers.ratios) == pytest.approx(model.compression_ratios(batch.inputs))
    expected = {0: ([0, 4, 8, 12], [0, 12]), 1: ([0, 4, 8, 12], [0, 8, 12])}
    for b, (level1, level2) in expected.items():
        compressed = model.compress(batch.inputs[:, b])
        assert compressed.counts == (16, 4, len(level2))
        assert compressed.levels[1].times.tolist() == level1 and compressed.levels[2].times.tolist() == level2
        trace = compressor_trace(model, batch, b, task=_task())
        assert [np.flatnonzero(e).tolist() for e in trace.events] == [level1, level2]


def test_the_surprise_is_minus_log_p_recomputed_from_level_0s_outputs_step_by_step():
    torch.manual_seed(3)
    model = HistoryCompressor(None, 2, hidden_size=8, input_vocab=LAG + 2, cell="lstm", levels=2, threshold=0.3)
    batch = _task().sample(3, torch.Generator().manual_seed(4))
    level = model.levels[0]
    for b in range(3):
        trace = compressor_trace(model, batch, b)
        x = batch.inputs[:, b]
        state, y, expected, missed = level.cell.initial_state(1), torch.zeros(1, 8), [], []
        with torch.no_grad():
            for t in range(len(x)):
                log_p = level.predict(y)[0][0].log_softmax(-1)  # (V,)
                expected.append(-float(log_p[x[t]]))
                missed.append(not (int(log_p.argmax()) == int(x[t]) and math.exp(log_p[x[t]]) >= 0.3))
                y, state = level.step(x[t:t + 1], None, state)
        assert trace.surprise == pytest.approx(expected, abs=1e-5)
        assert trace.passed.tolist() == missed and trace.events[0].tolist() == missed


def test_real_valued_inputs_show_level_0s_largest_error_against_the_threshold():
    torch.manual_seed(0)
    task = ChunkLagTask(ChunkLagTask.Config(lag=LAG, blocks=4, one_hot=True))
    model = HistoryCompressor(LAG + 2, 2, hidden_size=8, levels=2, threshold=0.6)
    batch = task.make_batch(torch.tensor(FIRST))
    trace = compressor_trace(model, batch, 1, task=task)
    assert not trace.tokens and trace.threshold == 0.6
    assert trace.names == ["a", "b1", "b2", "b3"] * 2 + ["x", "b1", "b2", "b3"] * 2  # the one-hot vectors' symbols
    assert trace.passed.tolist() == (trace.surprise > 0.6).tolist() == trace.events[0].tolist()
    predictions = model.input_predictions(batch.inputs[:, 1:2])[:, 0]
    assert trace.surprise == pytest.approx((predictions - batch.inputs[:, 1]).abs().amax(-1).tolist(), abs=1e-6)


def test_a_padded_sequence_is_traced_over_its_real_steps_only():
    model, batch = _hand_model(), _batch()
    padded = Batch(batch.inputs, batch.targets, torch.tensor([16, 10]))
    trace = compressor_trace(model, padded, 1, task=_task())
    assert len(trace.names) == len(trace.surprise) == 10 and np.flatnonzero(trace.passed).tolist() == [0, 4, 8]
    numbers = compressor_numbers(model, padded, task=_task())
    assert numbers.steps == 26 and numbers.events == (7,) and numbers.labels == 6


def test_a_collapsed_model_shows_the_automatisers_own_answers():
    torch.manual_seed(0)
    model = HistoryCompressor(None, 2, hidden_size=6, input_vocab=LAG + 2, cell="elman_tanh", collapsed=True)
    trace = compressor_trace(model, _batch(), 0, task=_task())
    _, state = model(_batch().inputs[:, :1])
    assert trace.automatiser_answers.tolist() == state.automatiser_outputs[:, 0].argmax(-1).tolist()


# ---- names and the shown window -----------------------------------------------------------------------------------

def test_symbol_names_come_from_the_task():
    assert symbol_names(ChunkLagTask(), 22) == ["a", "x"] + [f"b{i}" for i in range(1, 21)]
    assert symbol_names(None, 3) == ["0", "1", "2"]

    class Tokens:
        TOKENS = ("<pad>", "1", "+")

    assert symbol_names(Tokens(), 3) == ["<pad>", "1", "+"]


def _trace(steps: int, labels=()) -> CompressorTrace:
    targets = np.full(steps, -1)
    targets[list(labels)] = 0
    zeros = np.zeros(steps)
    return CompressorTrace([str(t) for t in range(steps)], zeros, None, zeros.astype(bool), [zeros.astype(bool)],
                           targets, zeros.astype(int), None, ["a", "x"], True)


@pytest.mark.parametrize("steps, labels, most, shown", [
    (16, (3, 7, 11, 15), 126, 16),  # short enough: all of it
    (16, (3, 7, 11, 15), 10, 8),  # whole labelled segments within 10 steps
    (16, (3, 7, 11, 15), 3, 4),  # no label within 3 steps: up to the first
    (16, (), 5, 5),  # no label at all
])
def test_the_steps_shown(steps, labels, most, shown):
    assert shown_steps(_trace(steps, labels), most) == shown


# ---- the picture --------------------------------------------------------------------------------------------------

def test_the_picture_marks_surprise_events_and_answers(tmp_path, figures):
    model, batch = _hand_model(levels=3), _batch()
    trace = compressor_trace(model, batch, 0, task=_task())
    path = draw_compressor_events(trace, tmp_path / "events.png", titles=["hand"])
    assert path.read_bytes()[:8] == PNG
    (figure,) = figures
    inputs, surprise, level1, level2, answers = figure.axes
    names = {round(text.get_position()[0]): text for text in inputs.texts}
    assert [names[t].get_text() for t in range(16)] == trace.names
    assert {t for t, text in names.items() if text.get_fontweight() == "bold"} == {0, 4, 8, 12}
    bars = surprise.patches
    assert len(bars) == 16
    colours = [matplotlib.colors.to_hex(bar.get_facecolor()) for bar in bars]
    assert [t for t, c in enumerate(colours) if c == LEVEL_COLOURS[0]] == [0, 4, 8, 12]
    assert all(c == PREDICTED for t, c in enumerate(colours) if t not in (0, 4, 8, 12))
    assert [bar.get_height() for bar in bars] == pytest.approx(trace.surprise.tolist())
    (line,) = [line for line in surprise.lines if line.get_linestyle() == "--"]
    assert line.get_ydata()[0] == pytest.approx(-math.log(0.9))
    for axes, steps, symbols in ((level1, [0, 4, 8, 12], ["x", "a", "a", "x"]), (level2, [0, 12], ["x", "x"])):
        (marks,) = axes.lines[:1]
        assert marks.get_xdata().tolist() == steps
        assert [text.get_text() for text in axes.texts] == symbols
    discs = [line for line in answers.lines if line.get_marker() == "o"]
    assert [d.get_xdata()[0] for d in discs] == [3, 7, 11, 15]
    assert [matplotlib.colors.to_hex(d.get_markerfacecolor()) for d in discs] == [WRONG, RIGHT, RIGHT, WRONG]
    assert [t.get_text() for t in answers.texts] == ["a", "x", "a", "a", "a", "x"]  # answers; the truth by a wrong one
    title = inputs.get_title(loc="left")
    assert title.startswith("hand: all 16 steps; level 0 passed up 4 of 16 steps (x 2, a 2)")
    assert "level 1 received 4; level 2 received 2; labels right 2 of 4" in title


def test_a_long_sequence_is_cut_after_whole_labelled_segments_and_says_so(tmp_path, figures):
    trace = compressor_trace(_hand_model(), _batch(), 0, task=_task())
    draw_compressor_events(trace, tmp_path / "events.png", max_steps=10)
    inputs, surprise = figures[0].axes[:2]
    assert len(surprise.patches) == 8
    assert inputs.get_title(loc="left").startswith("steps 0–7 of 16 (2 of 4 labels); level 0 passed up 4 of 16")


def test_events_picture_writes_compressor_events_png_for_the_first_sequences(tmp_path, figures):
    path = events_picture(_hand_model(), _batch(), tmp_path, task=_task(), sequences=5)
    assert path == tmp_path / "compressor_events.png" and path.read_bytes()[:8] == PNG
    titles = [a.get_title(loc="left") for a in figures[0].axes if a.get_title(loc="left")]
    assert [t.split(":")[0] for t in titles] == ["held-out sequence 1", "held-out sequence 2"]  # the batch holds 2
    assert figures[0].texts[0].get_text() == "chunk_lag: history compressor, 2 levels of elman_tanh, θ = 0.9"


# ---- bad inputs ---------------------------------------------------------------------------------------------------

def test_bad_inputs_are_refused_with_a_message(tmp_path):
    model, batch = _hand_model(), _batch()
    tagger = runs.build_model(config.build_config("chunk_lag", model="elman_tanh"), ChunkLagTask())
    assert compressor_view.supports(tagger) == "the model SequenceTagger is not a HistoryCompressor"
    assert compressor_view.supports(model) is None
    cases = [
        (lambda: compressor_trace(tagger, batch), "compressor pictures: the model SequenceTagger is not a "
                                                  "HistoryCompressor"),
        (lambda: compressor_numbers(model, batch.inputs), "compressor pictures: expected a Batch .* got Tensor"),
        (lambda: compressor_trace(model, batch, 2), "sequence index 2 is outside the batch of 2 sequences"),
        (lambda: compressor_trace(model, batch, -1), "sequence index -1 is outside"),
        (lambda: events_picture(model, batch, tmp_path, sequences=0), "sequences must be an int >= 1; got 0"),
        (lambda: draw_compressor_events([], tmp_path / "p.png"), "traces must be a CompressorTrace or a non-empty"),
        (lambda: draw_compressor_events(_trace(4), tmp_path / "p.png", max_steps=0), "max_steps must be an int >= 1"),
        (lambda: draw_compressor_events([_trace(4)], tmp_path / "p.png", titles=["a", "b"]),
         "1 traces need as many titles; got 2"),
        (lambda: draw_compressor_events(_trace(4)._replace(surprise=np.zeros(3)), tmp_path / "p.png"),
         r"trace 0's surprise must hold one value a step, \(4,\); got shape \(3,\)"),
        (lambda: draw_compressor_events(_trace(0), tmp_path / "p.png"), "trace 0 has no steps"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message) as error:
            call()
        assert "\n" not in str(error.value)
    with pytest.raises(TypeError, match="trace 0 is a dict, not a CompressorTrace"):
        draw_compressor_events([{}], tmp_path / "p.png")
    with pytest.raises(ValueError, match="HistoryCompressor: token ids must lie in"):  # the model's own check
        compressor_trace(model, Batch(batch.inputs + 5, batch.targets, None))


# ---- rnnlab eval --plots -------------------------------------------------------------------------------------------

def test_rnnlab_eval_plots_draws_the_compressor_events_of_a_compressor_run(tmp_path):
    run = tmp_path / "run"
    assert cli.main(["train", "chunk_lag", "--model", "history_compressor", "--steps", "20", "--out", str(run)]) == 0
    assert cli.main(["eval", str(run), "--plots"]) == 0
    directory = runs.eval_plots_directory(run)
    assert sorted(p.name for p in directory.iterdir()) == ["compressor_events.png"]
    assert (directory / "compressor_events.png").read_bytes()[:8] == PNG


def test_a_compressor_run_logs_its_compression_ratio_at_every_evaluation(tmp_path):
    import json

    from rnnlab import cli

    run = tmp_path / "run"
    assert cli.main(["train", "chunk_lag", "--model", "history_compressor", "--steps", "20", "--set",
                     "train.eval_size=50", "--set", "train.stop_when=none", "--out", str(run)]) == 0
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    evaluated = [r for r in records if "eval_accuracy" in r]
    assert evaluated and all("compression_ratio_level_1" in r for r in evaluated)
    assert all(1.0 <= r["compression_ratio_level_1"] <= 210.0 for r in evaluated)  # 210 steps a sequence
    plain = tmp_path / "plain"
    assert cli.main(["train", "chunk_lag", "--model", "elman_tanh", "--steps", "10", "--set", "train.eval_size=50",
                     "--out", str(plain)]) == 0
    assert "compression_ratio_level_1" not in (plain / "metrics.jsonl").read_text()

"""Temporal order, Tasks 6a and 6b (Hochreiter & Schmidhuber 1997, §5.6): the rules of each sample read back from
the one-hot inputs; an oracle that reads the inputs scores accuracy 1; loss and metrics by hand; bad settings."""

from __future__ import annotations

import itertools
import math
import re

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnlab.tasks.temporal_order
from rnnlab.tasks import Batch, TemporalOrderTask

SYMBOLS = "abcdBEXY"  # the one-hot order, written out independently of the module
X, Y = SYMBOLS.index("X"), SYMBOLS.index("Y")
SHORT = dict(min_length=12, max_length=12, first_position_min=2, first_position_max=4,
             second_position_min=7, second_position_max=9)  # the docstring's example setting
SHORT_6B = dict(relevant=3, min_length=14, max_length=14, first_position_min=2, first_position_max=3,
                second_position_min=6, second_position_max=7, third_position_min=10,
                third_position_max=11)  # the docstring's example of Task 6b
TASK_6B = dict(relevant=3, second_position_min=33, second_position_max=43)  # the paper's, written out here
CLASS_NAMES = {2: "QRSU", 3: "QRSUVABC"}  # in the paper's order of the X/Y patterns, XX.. first, YY.. last


def sample(batch_size=64, seed=0, **config):
    task = TemporalOrderTask(TemporalOrderTask.Config(**config))
    return task, task.sample(batch_size, torch.Generator().manual_seed(seed))


def read(batch: Batch) -> tuple[list[str], list[int]]:
    """Each sequence as a string of symbols (its real steps only), and its length."""
    steps, B, _ = batch.inputs.shape
    lengths = batch.lengths.tolist() if batch.lengths is not None else [steps] * B
    columns = batch.inputs.argmax(2).T.tolist()  # (B, T_max)
    return ["".join(SYMBOLS[i] for i in column[:n]) for column, n in zip(columns, lengths)], lengths


def check_rules(task: TemporalOrderTask, batch: Batch) -> None:
    c = task.config
    steps, B, features = batch.inputs.shape
    assert features == 8 and batch.inputs.dtype == torch.float32
    assert batch.targets.dtype == torch.int64 and batch.targets.shape == (B,)
    sequences, lengths = read(batch)
    assert steps == max(lengths)
    real = torch.arange(steps).unsqueeze(1) < torch.tensor(lengths)  # (T_max, B)
    assert ((batch.inputs == 0) | (batch.inputs == 1)).all()
    assert (batch.inputs.sum(2) == real.float()).all(), "one-hot at real steps, zero vectors past each length"
    windows = [(c.first_position_min, c.first_position_max), (c.second_position_min, c.second_position_max),
               (c.third_position_min, c.third_position_max)][: c.relevant]
    patterns = ["".join(p) for p in itertools.product("XY", repeat=c.relevant)]  # XX, XY, YX, YY (6b: XXX, ...)
    names = dict(zip(patterns, CLASS_NAMES[c.relevant]))
    for s, n, target in zip(sequences, lengths, batch.targets.tolist()):
        assert c.min_length <= n <= c.max_length
        assert s[0] == "E" and s[-1] == "B"
        assert set(s[1:-1]) <= set("abcdXY")
        positions = [t for t, symbol in enumerate(s) if symbol in "XY"]
        assert len(positions) == c.relevant
        for t, (low, high) in zip(positions, windows):
            assert low <= t <= high
        assert target == CLASS_NAMES[c.relevant].index(names["".join(s[t] for t in positions)])


def test_every_sample_follows_the_papers_rules():
    task, batch = sample(4000)
    check_rules(task, batch)


@settings(max_examples=40, deadline=None)
@given(first=st.integers(1, 30), first_span=st.integers(0, 10), gap=st.integers(1, 30),
       second_span=st.integers(0, 10), tail=st.integers(2, 10), length_span=st.integers(0, 10),
       batch_size=st.integers(1, 30), seed=st.integers(0, 2**32))
def test_the_rules_hold_for_any_valid_setting(first, first_span, gap, second_span, tail, length_span, batch_size, seed):
    second = first + first_span + gap
    min_length = second + second_span + tail
    task, batch = sample(batch_size, seed, first_position_min=first, first_position_max=first + first_span,
                         second_position_min=second, second_position_max=second + second_span,
                         min_length=min_length, max_length=min_length + length_span)
    check_rules(task, batch)


def test_every_allowed_position_length_and_class_occurs_evenly():
    """Over 4000 sequences: every t1 in 10..20, t2 in 50..60 and length in 100..110 occurs; each class
    has a quarter of the sequences (±0.03, more than 4 standard deviations)."""
    _, batch = sample(4000)
    sequences, lengths = read(batch)
    positions = [[t for t, symbol in enumerate(s) if symbol in "XY"] for s in sequences]
    assert {t1 for t1, _ in positions} == set(range(10, 21))
    assert {t2 for _, t2 in positions} == set(range(50, 61))
    assert set(lengths) == set(range(100, 111))
    shares = torch.bincount(batch.targets, minlength=4).float() / 4000
    assert (shares - 0.25).abs().max() < 0.03


def test_task_6b_follows_the_papers_rules():
    task, batch = sample(4000, **TASK_6B)
    check_rules(task, batch)
    assert task.output_size == 8 and batch.targets.max() <= 7


def test_task_6b_every_allowed_position_and_class_occurs_evenly():
    """Over 8000 sequences of Task 6b: every t1 in 10..20, t2 in 33..43, t3 in 66..76 occurs; each of the 8 classes
    has an eighth of the sequences (±0.02, more than 5 standard deviations)."""
    _, batch = sample(8000, seed=1, **TASK_6B)
    sequences, _ = read(batch)
    positions = [[t for t, symbol in enumerate(s) if symbol in "XY"] for s in sequences]
    for i, window in enumerate((range(10, 21), range(33, 44), range(66, 77))):
        assert {p[i] for p in positions} == set(window)
    shares = torch.bincount(batch.targets, minlength=8).float() / 8000
    assert (shares - 0.125).abs().max() < 0.02


@settings(max_examples=30, deadline=None)
@given(first=st.integers(1, 20), span=st.integers(0, 8), gap=st.integers(1, 20), tail=st.integers(2, 10),
       length_span=st.integers(0, 10), batch_size=st.integers(1, 30), seed=st.integers(0, 2**32))
def test_task_6b_rules_hold_for_any_valid_setting(first, span, gap, tail, length_span, batch_size, seed):
    second = first + span + gap
    third = second + span + gap
    min_length = third + span + tail
    task, batch = sample(batch_size, seed, relevant=3, first_position_min=first, first_position_max=first + span,
                         second_position_min=second, second_position_max=second + span, third_position_min=third,
                         third_position_max=third + span, min_length=min_length, max_length=min_length + length_span)
    check_rules(task, batch)


def test_task_6a_draws_as_before_the_third_symbol_existed():
    """relevant = 2 draws the lengths, t1, t2, the two X/Y and then the distractors, in that order, from the
    generator (so existing runs see the same data); the third window's settings change nothing."""
    B, generator = 50, torch.Generator().manual_seed(11)
    lengths = torch.randint(100, 111, (B,), generator=generator)
    t1, t2 = torch.randint(10, 21, (B,), generator=generator), torch.randint(50, 61, (B,), generator=generator)
    first, second = torch.randint(0, 2, (B,), generator=generator), torch.randint(0, 2, (B,), generator=generator)
    _, batch = sample(B, seed=11)
    _, again = sample(B, seed=11, third_position_min=1000, third_position_max=999)
    assert torch.equal(batch.lengths, lengths) and torch.equal(batch.targets, 2 * first + second)
    columns = torch.arange(B)
    assert torch.equal(batch.inputs[t1, columns].argmax(1), X + first)
    assert torch.equal(batch.inputs[t2, columns].argmax(1), X + second)
    assert torch.equal(batch.inputs, again.inputs)


def test_same_seed_same_batch_and_different_seeds_differ():
    _, a = sample(seed=7)
    _, b = sample(seed=7)
    _, c = sample(seed=8)
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets) and torch.equal(a.lengths, b.lengths)
    assert not torch.equal(a.inputs[:100], c.inputs[:100])


def test_a_fixed_length_gives_no_lengths():
    task, batch = sample(16, **SHORT)
    assert batch.lengths is None and batch.inputs.shape == (12, 16, 8)
    check_rules(task, batch)


def test_the_docstrings_worked_examples_follow_the_rules():
    """The two tables (Task 6a, class R; Task 6b, class A), each a valid sample of its short setting."""
    rows = {"symbol": [], "index": []}
    for line in rnnlab.tasks.temporal_order.__doc__.splitlines():
        name, _, rest = line.strip().partition(" ")
        if line.startswith("    ") and name in ("symbol", "index"):
            rows[name].append([item for item in rest.split() if len(item) == 1 or item.isdigit()])
    assert len(rows["symbol"]) == len(rows["index"]) == 2
    for symbols, indices, setting, target in zip(rows["symbol"], rows["index"], (SHORT, SHORT_6B), (1, 5)):
        steps = setting["min_length"]
        symbols, indices = symbols[:steps], [int(i) for i in indices[:steps]]
        assert indices == [SYMBOLS.index(s) for s in symbols]
        inputs = torch.nn.functional.one_hot(torch.tensor(indices), 8).float().unsqueeze(1)  # (steps, 1, 8)
        check_rules(TemporalOrderTask(TemporalOrderTask.Config(**setting)), Batch(inputs, torch.tensor([target]), None))


# ---- an exact Bayes-optimal reference -----------------------------------------------------------

def oracle(batch: Batch, *, swap: bool = False) -> torch.Tensor:
    """Logits that put all the weight on the class read from the inputs: the first and second X/Y in time."""
    is_x_or_y = batch.inputs[..., X] + batch.inputs[..., Y]  # (T, B)
    order = torch.arange(batch.inputs.shape[0], 0, -1).unsqueeze(1)  # (T, 1): earlier steps weigh more
    first = (is_x_or_y * order).argmax(0)  # (B,)
    second = (is_x_or_y * order.flip(0)).argmax(0)  # (B,)
    columns = torch.arange(batch.inputs.shape[1])
    first_is_y = batch.inputs[first, columns, Y].long()
    second_is_y = batch.inputs[second, columns, Y].long()
    if swap:
        first_is_y, second_is_y = second_is_y, first_is_y
    return 5.0 * torch.nn.functional.one_hot(2 * first_is_y + second_is_y, 4).float()  # (B, 4)


def oracle_6b(batch: Batch) -> torch.Tensor:
    """Logits for Task 6b from the X/Y read in time order, in Python: the class by the paper's table."""
    sequences, _ = read(batch)
    table = {"XXX": "Q", "XXY": "R", "XYX": "S", "XYY": "U", "YXX": "V", "YXY": "A", "YYX": "B", "YYY": "C"}
    classes = ["QRSUVABC".index(table["".join(symbol for symbol in s if symbol in "XY")]) for s in sequences]
    return 5.0 * torch.nn.functional.one_hot(torch.tensor(classes), 8).float()  # (B, 8)


def test_an_oracle_reading_the_inputs_scores_accuracy_one():
    task, batch = sample(2000, seed=5)
    got = task.metrics(oracle(batch), batch)
    assert got["accuracy"] == 1.0 and got["count"] == 2000
    assert got["loss"] == pytest.approx(-math.log(math.exp(5) / (math.exp(5) + 3)), rel=1e-4)


def test_an_oracle_that_swaps_the_order_is_right_only_on_xx_and_yy():
    task, batch = sample(2000, seed=5)
    same_symbols = ((batch.targets == 0) | (batch.targets == 3)).float().mean().item()
    assert task.metrics(oracle(batch, swap=True), batch)["accuracy"] == pytest.approx(same_symbols)
    assert 0.4 < same_symbols < 0.6


def test_task_6b_an_oracle_scores_one_and_one_without_the_third_symbol_scores_a_half():
    """An oracle of the three X/Y is right on every sequence; one that knows only the first two (the third taken as
    X) is right exactly where the third is X."""
    task, batch = sample(2000, seed=6, **TASK_6B)
    assert task.metrics(oracle_6b(batch), batch)["accuracy"] == 1.0
    without_third = oracle_6b(batch).view(2000, 4, 2).sum(2)  # (B, 4): the weight of XX?, XY?, YX?, YY?
    guess = torch.nn.functional.pad(without_third.unsqueeze(2), (0, 1)).view(2000, 8)  # all on the ..X class
    third_is_x = (batch.targets % 2 == 0).float().mean().item()
    assert task.metrics(guess, batch)["accuracy"] == pytest.approx(third_is_x)
    assert 0.45 < third_is_x < 0.55


# ---- loss and metrics by hand -------------------------------------------------------------------

def test_loss_and_metrics_on_a_hand_computed_table():
    """Logits (0, 1, 0, 0) for class 1: -log(e / (e + 3)), right.  (log 3, 0, 0, 0) for class 2:
    -log(1 / 6), wrong."""
    task = TemporalOrderTask()
    batch = Batch(inputs=torch.zeros(5, 2, 8), targets=torch.tensor([1, 2]), lengths=None)
    outputs = torch.tensor([[0.0, 1.0, 0.0, 0.0], [math.log(3), 0.0, 0.0, 0.0]])
    expected = (math.log(math.e + 3) - 1 + math.log(6)) / 2
    assert task.loss(outputs, batch).item() == pytest.approx(expected, rel=1e-6)
    assert task.metrics(outputs, batch) == pytest.approx({"loss": expected, "accuracy": 0.5, "count": 2}, rel=1e-6)


@pytest.mark.parametrize("shape", [(8,), (8, 3), (7, 4)])
def test_outputs_of_the_wrong_shape_are_refused(shape):
    task, batch = sample(8)
    message = re.escape(f"task 'temporal_order' expects outputs of shape (B, 4) = (8, 4); got {shape}")
    with pytest.raises(ValueError, match=message):
        task.loss(torch.zeros(shape), batch)
    with pytest.raises(ValueError, match=message):
        task.metrics(torch.zeros(shape), batch)


# ---- settings -----------------------------------------------------------------------------------

def test_defaults_are_the_papers():
    assert TemporalOrderTask().config == TemporalOrderTask.Config(
        relevant=2, min_length=100, max_length=110, first_position_min=10, first_position_max=20,
        second_position_min=50, second_position_max=60, third_position_min=66, third_position_max=76)
    assert (TemporalOrderTask.input_size, TemporalOrderTask.output_size) == (8, 4)
    assert TemporalOrderTask().output_size == 4


def test_task_6b_settings_are_the_papers():
    """Task 6b: t1 in 10..20, t2 in 33..43, t3 in 66..76, lengths 100..110, 8 classes; the module's TASK_6B and the
    recommendations for relevant = 3 give the second window (the rest are defaults), and nothing for Task 6a."""
    assert rnnlab.tasks.temporal_order.TASK_6B == TASK_6B
    config = TemporalOrderTask.Config(**TASK_6B)
    assert (config.first_position_min, config.first_position_max, config.third_position_min,
            config.third_position_max, config.min_length, config.max_length) == (10, 20, 66, 76, 100, 110)
    assert TemporalOrderTask(config).output_size == 8
    six_b = TemporalOrderTask.recommendations("lstm", {"relevant": 3})
    assert six_b["task.second_position_min"] == 33 and six_b["task.second_position_max"] == 43
    assert six_b["model.options"] == {"forget_bias": 5.0, "input_bias": -3.0}
    six_a = TemporalOrderTask.recommendations("lstm", {})
    assert not any(key.startswith("task.") for key in six_a)
    assert TemporalOrderTask.recommendations("gru", {"relevant": 2}) == TemporalOrderTask.recommendations("gru", {})


def test_task_6b_outputs_must_be_eight_logits():
    task, batch = sample(8, **TASK_6B)
    with pytest.raises(ValueError, match=re.escape("task 'temporal_order' expects outputs of shape (B, 8) = (8, 8); "
                                                   "got (8, 4)")):
        task.loss(torch.zeros(8, 4), batch)
    assert task.loss(torch.zeros(8, 8), batch).item() == pytest.approx(math.log(8), rel=1e-6)


@pytest.mark.parametrize("field, value, message", [
    ("first_position_min", 0, "first_position_min must be an int >= 1 (E is at step 0)"),
    ("first_position_max", 9, "first_position_max must be an int >= 10 (first_position_min = 10)"),
    ("second_position_min", 20, "second_position_min must be an int >= 21 (the second X/Y comes after the first"),
    ("second_position_max", 49, "second_position_max must be an int >= 50 (second_position_min = 50)"),
    ("min_length", 61, "min_length must be an int >= 62 (B must come after the second X/Y"),
    ("max_length", 99, "max_length must be an int >= 100 (min_length = 100)"),
    ("min_length", 100.5, "min_length must be an int >= 62"),
    ("relevant", 4, "relevant must be 2 (Task 6a) or 3 (Task 6b)"),
    ("relevant", 1, "relevant must be 2 (Task 6a) or 3 (Task 6b)"),
    ("relevant", 2.0, "relevant must be 2 (Task 6a) or 3 (Task 6b)"),
    ("relevant", True, "relevant must be 2 (Task 6a) or 3 (Task 6b)"),
])
def test_bad_settings_name_the_field_and_the_value(field, value, message):
    pattern = re.escape(f"temporal_order task: {message}") + r".*; got " + re.escape(repr(value)) + "$"
    with pytest.raises(ValueError, match=pattern):
        TemporalOrderTask(TemporalOrderTask.Config(**{field: value}))


@pytest.mark.parametrize("field, value, message", [
    ("third_position_min", 43, "third_position_min must be an int >= 44 (the third X/Y comes after the second, "
                               "second_position_max = 43)"),
    ("third_position_max", 65, "third_position_max must be an int >= 66 (third_position_min = 66)"),
    ("min_length", 77, "min_length must be an int >= 78 (B must come after the third X/Y, third_position_max = 76)"),
    ("second_position_max", 70, "third_position_min must be an int >= 71 (the third X/Y comes after the second, "
                                "second_position_max = 70); got 66"),
])
def test_bad_settings_of_task_6b_name_the_field_and_the_value(field, value, message):
    with pytest.raises(ValueError, match=re.escape(f"temporal_order task: {message}")):
        TemporalOrderTask(TemporalOrderTask.Config(**{**TASK_6B, field: value}))

"""The adding problem (Hochreiter & Schmidhuber 1997, §5.4): the rules of each sample, read back from
the inputs alone; loss and metrics on hand-computed cases; bad settings."""

from __future__ import annotations

import re

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from marked_pairs import check_marked_pairs, docstring_example, hand_batch
from timing import fastest

import rnnlab.tasks.adding
from rnnlab.tasks import AddingTask, Batch


def sample(batch_size=64, seed=0, **config):
    task = AddingTask(AddingTask.Config(**config))
    return task, task.sample(batch_size, torch.Generator().manual_seed(seed))


def check_rules(task: AddingTask, batch: Batch) -> None:
    """Every rule of the paper's task description, checked on every sequence of ``batch`` from its
    inputs (not from the generator's internals): values in [-1, 1], a marked first pair at 0, and the
    target 0.5 + (X1 + X2)/4."""
    check_marked_pairs(task, batch, values=(-1.0, 1.0), marked_first_value=0.0,
                       target=lambda x1, x2: 0.5 + (x1 + x2) / 4)


@pytest.mark.parametrize("length", [100, 11, 37])
def test_every_sample_follows_the_papers_rules(length):
    task, batch = sample(4000 if length == 100 else 500, length=length)
    check_rules(task, batch)


@settings(max_examples=40, deadline=None)
@given(length=st.integers(4, 80), window=st.integers(1, 12), batch_size=st.integers(1, 40), seed=st.integers(0, 2**32))
def test_the_rules_hold_for_any_valid_setting(length, window, batch_size, seed):
    length = max(length, window + 1)
    task, batch = sample(batch_size, seed, length=length, first_marker_window=window)
    check_rules(task, batch)


def test_every_allowed_position_and_length_occurs():
    """With T = 100 over 4000 sequences: marks fall on every pair 0..49 and on none after; every length
    100..110 occurs; the first pair is marked in about 0.1 + 0.9/49 = 11.8% of sequences."""
    _, batch = sample(4000, length=100)
    marked_positions = set(torch.nonzero(batch.inputs[..., 1] == 1.0)[:, 0].tolist())
    assert marked_positions == set(range(50))
    assert set(batch.lengths.tolist()) == set(range(100, 111))
    first_marked = (batch.inputs[0, :, 1] == 1.0).float().mean().item()
    assert abs(first_marked - (0.1 + 0.9 / 49)) < 0.02


@pytest.mark.parametrize("length", [500, 1000])
def test_the_papers_longer_runs_follow_the_rules_and_are_drawn_fast(length):
    """Experiment 4 also runs T = 500 and 1000 (Table 7): lengths T..T + T/10, X1 among the first 10 pairs, X2
    among the first T/2 - 1 still unmarked ones, so no mark after pair T/2 - 1 (the minimal lag to the end is
    T/2); a batch of 32 takes well under 50 ms (best of 5, about 0.3 ms at T = 1000)."""
    task, batch = sample(2000, length=length)
    check_rules(task, batch)
    assert batch.lengths.min() == length and batch.lengths.max() == length + length // 10
    marked_positions = torch.nonzero(batch.inputs[..., 1] == 1.0)[:, 0]
    assert marked_positions.max() == length // 2 - 1
    generator = torch.Generator().manual_seed(0)
    seconds, _ = fastest(lambda: task.sample(32, generator))
    assert seconds < 0.05


def test_same_seed_same_batch_and_different_seeds_differ():
    _, a = sample(seed=7)
    _, b = sample(seed=7)
    _, c = sample(seed=8)
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets) and torch.equal(a.lengths, b.lengths)
    assert not torch.equal(a.targets, c.targets)


def test_the_docstrings_worked_example_follows_the_rules():
    """The table in the module docstring (T = 12) is a valid sample, and its target is right."""
    inputs, target = docstring_example(rnnlab.tasks.adding)
    values, markers = inputs[:, 0, 0], inputs[:, 0, 1]
    assert target == pytest.approx(0.5 + values[markers == 1].sum().item() / 4)
    check_rules(AddingTask(AddingTask.Config(length=12)),
                Batch(inputs, torch.tensor([[target]]), torch.tensor([len(values)])))


# ---- loss and metrics ---------------------------------------------------------------------------

def test_metrics_on_a_hand_computed_table():
    """Errors 0.03, -0.05, 0 and 0.1: squared 0.0009, 0.0025, 0, 0.01; within 0.04: the 1st and 3rd."""
    task = AddingTask()
    batch = hand_batch([0.5, 0.75, 0.25, 0.6])
    outputs = torch.tensor([[0.53], [0.70], [0.25], [0.7]])
    got = task.metrics(outputs, batch)
    assert got.keys() == {"loss", "mse", "accuracy", "count"}
    assert got["mse"] == pytest.approx((0.0009 + 0.0025 + 0 + 0.01) / 4, rel=1e-5)
    assert got["loss"] == got["mse"]
    assert got["accuracy"] == 0.5
    assert got["count"] == 4
    assert task.loss(outputs, batch).item() == pytest.approx(got["mse"], rel=1e-6)


def test_tolerance_decides_accuracy():
    batch, outputs = hand_batch([0.5, 0.5]), torch.tensor([[0.55], [0.58]])
    assert AddingTask().metrics(outputs, batch)["accuracy"] == 0.0
    assert AddingTask(AddingTask.Config(tolerance=0.06)).metrics(outputs, batch)["accuracy"] == 0.5


def test_perfect_outputs_score_zero_mse_and_full_accuracy():
    task, batch = sample(300)
    got = task.metrics(batch.targets.clone(), batch)
    assert got == {"loss": 0.0, "mse": 0.0, "accuracy": 1.0, "count": 300}


def test_constant_half_scores_the_mean_squared_scaled_sum():
    """Predicting 0.5 errs by (X1 + X2)/4; the expected figures are computed in Python from the inputs."""
    task, batch = sample(300, seed=3)
    sums = [sum(v for v, m in column if m == 1.0) for column in batch.inputs.transpose(0, 1).tolist()]
    mse = sum((s / 4) ** 2 for s in sums) / len(sums)
    accuracy = sum(abs(s / 4) < 0.04 for s in sums) / len(sums)
    got = task.metrics(torch.full((300, 1), 0.5), batch)
    assert got["mse"] == pytest.approx(mse, rel=1e-5)
    assert got["accuracy"] == pytest.approx(accuracy)
    assert 0 < accuracy < 0.2  # the paper's criterion is strict: a constant guess is rarely right


def test_loss_has_a_gradient():
    task, batch = sample(8)
    outputs = torch.zeros(8, 1, requires_grad=True)
    task.loss(outputs, batch).backward()
    torch.testing.assert_close(outputs.grad, -2 * batch.targets / 8)  # d/dy mean((y - t)^2) at y = 0


@pytest.mark.parametrize("shape", [(8,), (8, 2), (7, 1)])
def test_outputs_of_the_wrong_shape_are_refused(shape):
    task, batch = sample(8)
    message = re.escape(f"task 'adding' expects outputs of shape (B, 1) = (8, 1); got {shape}")
    with pytest.raises(ValueError, match=message):
        task.loss(torch.zeros(shape), batch)
    with pytest.raises(ValueError, match=message):
        task.metrics(torch.zeros(shape), batch)


# ---- settings -----------------------------------------------------------------------------------

def test_defaults_are_the_papers():
    assert AddingTask().config == AddingTask.Config(length=100, first_marker_window=10, tolerance=0.04)


@pytest.mark.parametrize("field, value, message", [
    ("length", 10, "length must be an int >= 11 (the first 10 pairs"),
    ("length", 5, "length must be an int >= 11"),
    ("length", 100.0, "length must be an int >= 11"),
    ("length", True, "length must be an int >= 11"),
    ("first_marker_window", 0, "first_marker_window must be an int >= 1"),
    ("tolerance", 0.0, "tolerance must be a positive number"),
    ("tolerance", -0.04, "tolerance must be a positive number"),
    ("tolerance", "0.04", "tolerance must be a positive number"),
])
def test_bad_settings_name_the_field_and_the_value(field, value, message):
    with pytest.raises(ValueError, match=re.escape(f"adding task: {message}") + r".*; got " + re.escape(repr(value))):
        AddingTask(AddingTask.Config(**{field: value}))


def test_a_small_window_allows_a_short_length():
    AddingTask(AddingTask.Config(length=4, first_marker_window=3))
    with pytest.raises(ValueError, match=r"length must be an int >= 4 .*; got 3"):
        AddingTask(AddingTask.Config(length=3, first_marker_window=2))

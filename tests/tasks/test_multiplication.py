"""The multiplication problem (Hochreiter & Schmidhuber 1997, §5.5): the rules of each sample read back from the
inputs, what it shares with the adding problem, the worked example, loss and metrics by hand, a perfect and a
constant predictor, bad settings."""

from __future__ import annotations

import re

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from marked_pairs import check_marked_pairs, docstring_example, hand_batch

import rnnlab.tasks.multiplication
from rnnlab.tasks import AddingTask, Batch
from rnnlab.tasks.multiplication import MultiplicationTask


def sample(batch_size=64, seed=0, **config):
    task = MultiplicationTask(MultiplicationTask.Config(**config))
    return task, task.sample(batch_size, torch.Generator().manual_seed(seed))


def check_rules(task: MultiplicationTask, batch: Batch) -> None:
    """The adding problem's rules with the paper's three changes: values in [0, 1], a marked first pair at
    1.0, and the target X1 × X2."""
    check_marked_pairs(task, batch, values=(0.0, 1.0), marked_first_value=1.0, target=lambda x1, x2: x1 * x2)


@pytest.mark.parametrize("length", [100, 11, 37, 1000])
def test_every_sample_follows_the_papers_rules(length):
    task, batch = sample(4000 if length == 100 else 500, length=length)
    check_rules(task, batch)


@settings(max_examples=40, deadline=None)
@given(length=st.integers(4, 80), window=st.integers(1, 12), batch_size=st.integers(1, 40), seed=st.integers(0, 2**32))
def test_the_rules_hold_for_any_valid_setting(length, window, batch_size, seed):
    length = max(length, window + 1)
    task, batch = sample(batch_size, seed, length=length, first_marker_window=window)
    check_rules(task, batch)


def test_values_span_zero_to_one_and_every_position_occurs():
    """With T = 100 over 4000 sequences: values fill [0, 1) (none negative, mean 1/2), marks fall on every pair
    0..49, and the first pair is marked in about 0.1 + 0.9/49 = 11.8% of sequences, where it reads 1.0."""
    _, batch = sample(4000, length=100)
    values = batch.inputs[1:100, :, 0]  # unmarked or marked, never the first pair, every sequence has them
    assert values.min() >= 0 and values.max() < 1 and abs(values.mean().item() - 0.5) < 0.005
    assert set(torch.nonzero(batch.inputs[..., 1] == 1.0)[:, 0].tolist()) == set(range(50))
    first_marked = batch.inputs[0, :, 1] == 1.0
    assert abs(first_marked.float().mean().item() - (0.1 + 0.9 / 49)) < 0.02
    assert (batch.inputs[0, first_marked, 0] == 1.0).all()


def test_it_draws_like_the_adding_problem():
    """The same seed marks the same pairs at the same lengths as the adding problem, and each value is the
    adding problem's mapped from [-1, 1) to [0, 1) (but the first pair when marked: 1.0 here, 0 there)."""
    _, product = sample(500, seed=4, length=40)
    adding = AddingTask(AddingTask.Config(length=40)).sample(500, torch.Generator().manual_seed(4))
    assert torch.equal(product.lengths, adding.lengths)
    assert torch.equal(product.inputs[..., 1], adding.inputs[..., 1])
    real = torch.arange(product.inputs.shape[0]).unsqueeze(1) < product.lengths
    unmarked_first = real.clone()
    unmarked_first[0] = product.inputs[0, :, 1] != 1.0
    torch.testing.assert_close(product.inputs[..., 0][unmarked_first], (adding.inputs[..., 0][unmarked_first] + 1) / 2)


def test_same_seed_same_batch_and_different_seeds_differ():
    _, a = sample(seed=7)
    _, b = sample(seed=7)
    _, c = sample(seed=8)
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets) and torch.equal(a.lengths, b.lengths)
    assert not torch.equal(a.targets, c.targets)


def test_the_docstrings_worked_example_follows_the_rules():
    """The table in the module docstring (T = 12) is a valid sample, and its target is right."""
    inputs, target = docstring_example(rnnlab.tasks.multiplication)
    values, markers = inputs[:, 0, 0], inputs[:, 0, 1]
    assert target == pytest.approx(values[markers == 1].prod().item())
    check_rules(MultiplicationTask(MultiplicationTask.Config(length=12)),
                Batch(inputs, torch.tensor([[target]]), torch.tensor([len(values)])))


# ---- loss and metrics ---------------------------------------------------------------------------

def test_metrics_on_a_hand_computed_table():
    """Errors 0.03, -0.05, 0 and 0.1: squared 0.0009, 0.0025, 0, 0.01; within 0.04: the 1st and 3rd."""
    task = MultiplicationTask()
    batch = hand_batch([0.2, 0.75, 0.04, 0.5])
    outputs = torch.tensor([[0.23], [0.70], [0.04], [0.6]])
    got = task.metrics(outputs, batch)
    assert got.keys() == {"loss", "mse", "accuracy", "count"}
    assert got["mse"] == pytest.approx((0.0009 + 0.0025 + 0 + 0.01) / 4, rel=1e-5)
    assert got["loss"] == got["mse"] and got["accuracy"] == 0.5 and got["count"] == 4
    assert task.loss(outputs, batch).item() == pytest.approx(got["mse"], rel=1e-6)
    assert MultiplicationTask(MultiplicationTask.Config(tolerance=0.06)).metrics(outputs, batch)["accuracy"] == 0.75


def test_the_product_read_from_the_inputs_is_perfect():
    """An oracle multiplying the two marked values of the inputs scores mse 0 and accuracy 1."""
    task, batch = sample(300, seed=2)
    values, marked = batch.inputs[..., 0], batch.inputs[..., 1] == 1.0
    oracle = torch.where(marked, values, 1.0).prod(0).unsqueeze(1)  # (B, 1)
    got = task.metrics(oracle, batch)
    assert got["accuracy"] == 1.0 and got["mse"] < 1e-12


def test_the_best_constant_scores_the_variance_of_the_target():
    """Predicting the mean target scores mse = its variance (≈ 0.059 with the first-pair rule) and accuracy
    ≈ 0.10, computed in Python from the inputs."""
    task, batch = sample(4000, seed=3)
    products = []
    for column in batch.inputs.transpose(0, 1).tolist():
        marked = [v for v, m in column if m == 1.0]
        products.append(marked[0] * marked[1])
    mean = sum(products) / len(products)
    variance = sum((p - mean) ** 2 for p in products) / len(products)
    got = task.metrics(torch.full((4000, 1), mean), batch)
    assert got["mse"] == pytest.approx(variance, rel=1e-4)
    assert got["accuracy"] == pytest.approx(sum(abs(p - mean) < 0.04 for p in products) / 4000)
    assert 0.055 < variance < 0.064 and 0.08 < got["accuracy"] < 0.12


@pytest.mark.parametrize("shape", [(8,), (8, 2), (7, 1)])
def test_outputs_of_the_wrong_shape_are_refused(shape):
    task, batch = sample(8)
    message = re.escape(f"task 'multiplication' expects outputs of shape (B, 1) = (8, 1); got {shape}")
    with pytest.raises(ValueError, match=message):
        task.loss(torch.zeros(shape), batch)
    with pytest.raises(ValueError, match=message):
        task.metrics(torch.zeros(shape), batch)


# ---- settings -----------------------------------------------------------------------------------

def test_defaults_are_the_papers():
    assert MultiplicationTask().config == MultiplicationTask.Config(length=100, first_marker_window=10,
                                                                    tolerance=0.04)
    assert (MultiplicationTask.input_size, MultiplicationTask.output_size) == (2, 1)


def test_the_recommended_stop_is_fewer_than_13_of_2000_wrong():
    """n_seq = 13: 12 wrong of 2,000 stops, 13 wrong does not, whatever the rounding of the batch means."""
    recommended = MultiplicationTask.recommendations("lstm", {})
    assert recommended["train.eval_size"] == 2000
    metric, op, value = re.fullmatch(r"(\w+) (>) ([\d.]+)", recommended["train.stop_when"]).groups()
    assert metric == "accuracy" and 1 - 13 / 2000 + 1e-5 < float(value) < 1 - 12 / 2000 - 1e-5


@pytest.mark.parametrize("field, value, message", [
    ("length", 10, "length must be an int >= 11 (the first 10 pairs"),
    ("length", 100.0, "length must be an int >= 11"),
    ("first_marker_window", 0, "first_marker_window must be an int >= 1"),
    ("tolerance", 0.0, "tolerance must be a positive number"),
    ("tolerance", "0.04", "tolerance must be a positive number"),
])
def test_bad_settings_name_the_field_and_the_value(field, value, message):
    pattern = re.escape(f"multiplication task: {message}") + r".*; got " + re.escape(repr(value))
    with pytest.raises(ValueError, match=pattern):
        MultiplicationTask(MultiplicationTask.Config(**{field: value}))


def test_a_config_of_the_adding_problem_is_refused():
    message = r"task 'multiplication' takes a MultiplicationTask.Config; got AddingTask.Config\("
    with pytest.raises(TypeError, match=message):
        MultiplicationTask(AddingTask.Config())

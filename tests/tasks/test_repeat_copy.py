"""The repeat copy task (Graves et al. 2014, NTM §4.2): the layout of every sample read back from the batch,
the repeat-count code, the docstring's worked example, seeds, metrics, settings."""

from __future__ import annotations

import math
import re

import pytest
import torch

import rnnlab.tasks.repeat_copy
from rnnlab.tasks.base import Batch
from rnnlab.tasks.repeat_copy import RepeatCopyTask
from worked_examples import docstring_table


def sample(batch_size=64, seed=0, **config):
    task = RepeatCopyTask(RepeatCopyTask.Config(**config))
    return task, task.sample(batch_size, torch.Generator().manual_seed(seed))


def read_back(task: RepeatCopyTask, batch: Batch, b: int) -> tuple[int, int]:
    """(L, n) of sequence b, read from its inputs: the delimiter's step, and the count's code."""
    W, c = task.config.bits, task.config
    x = batch.inputs[:, b]
    L = int(torch.nonzero(x[:, W] == 1).squeeze(1))
    n = round(float(x[L + 1, W + 1]) * c.repeat_std + c.repeat_mean)
    return L, n


def check_layout(task: RepeatCopyTask, batch: Batch) -> None:
    """Every sequence: L vectors, the delimiter alone at step L, the count alone at step L + 1, zeros after;
    targets: the vectors n times from step L + 2 with the end marker 0, then the end marker alone; scored
    exactly at those L·n + 1 steps; zeros past the length."""
    W, c = task.config.bits, task.config
    T, B, _ = batch.inputs.shape
    for b in range(B):
        x, y = batch.inputs[:, b], batch.targets[:, b]
        L, n = read_back(task, batch, b)
        assert c.min_length <= L <= c.max_length and c.min_repeats <= n <= c.max_repeats
        total = L + 3 + L * n
        assert (batch.lengths is None and total == T) or int(batch.lengths[b]) == total
        assert ((x[:L, :W] == 0) | (x[:L, :W] == 1)).all() and (x[:L, W:] == 0).all()
        assert torch.equal(x[L], torch.eye(W + 2)[W])
        count = torch.zeros(W + 2)
        count[W + 1] = (n - c.repeat_mean) / c.repeat_std
        torch.testing.assert_close(x[L + 1], count)
        assert (x[L + 2 :] == 0).all()
        answer = y[L + 2 : L + 2 + L * n]
        assert torch.equal(answer[:, :W], x[:L, :W].repeat(n, 1)), "the vectors, n times"
        assert (answer[:, W] == 0).all() and (answer[:, W + 1] == 1).all()
        assert torch.equal(y[L + 2 + L * n], torch.eye(W + 2)[W] + torch.eye(W + 2)[W + 1]), "end marker, scored"
        assert (y[: L + 2] == 0).all() and (y[total:] == 0).all()


def test_shapes_dtypes_and_class_attributes():
    task, batch = sample(32)
    assert (task.input_size, task.output_size, task.output_kind) == (10, 9, "every")
    assert (task.main_metric, task.main_metric_goal) == ("bit_errors_per_sequence", "min")
    T = batch.inputs.shape[0]
    assert batch.inputs.shape == (T, 32, 10) and batch.inputs.dtype == torch.float32
    assert batch.targets.shape == (T, 32, 10) and batch.targets.dtype == torch.float32
    assert batch.lengths.shape == (32,) and batch.lengths.dtype == torch.int64
    assert T == int(batch.lengths.max()) <= 10 + 3 + 100


@pytest.mark.parametrize("config", [{}, {"bits": 2, "min_length": 3, "max_length": 5, "min_repeats": 2,
                                         "max_repeats": 4}])
def test_every_sample_follows_the_layout(config):
    task, batch = sample(150, **config)
    check_layout(task, batch)


def test_lengths_and_repeats_cover_their_ranges():
    task, batch = sample(1000, seed=1)
    pairs = [read_back(task, batch, b) for b in range(1000)]
    assert {L for L, _ in pairs} == set(range(1, 11)) and {n for _, n in pairs} == set(range(1, 11))


def test_the_count_has_mean_zero_and_variance_one_on_the_training_range():
    task = RepeatCopyTask()
    codes = task.count_input(torch.arange(1, 11))
    assert codes.mean().item() == pytest.approx(0, abs=1e-6)
    assert codes.var(unbiased=False).item() == pytest.approx(1, rel=1e-5)


def test_the_count_code_does_not_follow_the_range():
    """A network trained on 1..10 reads 20 repeats on the training scale when evaluated on 20."""
    task, batch = sample(5, min_repeats=20, max_repeats=20, min_length=2, max_length=2)
    assert batch.inputs[3, :, 9] == pytest.approx((20 - 5.5) / math.sqrt(8.25))
    assert batch.lengths is None and batch.inputs.shape[0] == 2 + 3 + 40
    check_layout(task, batch)


def test_the_docstrings_worked_example():
    rows = docstring_table(rnnlab.tasks.repeat_copy)
    inputs = torch.tensor([rows[f"x[{i}]"] for i in range(5)]).T.unsqueeze(1)  # (9, 1, 5)
    targets = torch.tensor([rows[f"y[{i}]"] for i in range(5)]).T.unsqueeze(1)  # (9, 1, 5)
    task = RepeatCopyTask(RepeatCopyTask.Config(bits=3))
    batch = task.make_batch(inputs[:2, :, :3], torch.tensor([2]), torch.tensor([2]))
    torch.testing.assert_close(batch.inputs, inputs, rtol=0, atol=0.005)  # the table rounds the count
    assert torch.equal(batch.targets, targets)
    assert torch.equal(batch.lengths, torch.tensor([9]))
    check_layout(task, batch)


# ---- loss and metrics ---------------------------------------------------------------------------

def test_perfect_and_wrong_logits():
    task, batch = sample(100, seed=2)
    signs = 2 * batch.targets[..., :9] - 1  # (T, B, 9)
    perfect = task.metrics(20 * signs, batch)
    assert perfect["bit_errors_per_sequence"] == 0 and 0 <= perfect["bits_per_sequence"] < 1e-5
    scored_steps = batch.targets[..., 9].sum(0)  # (B,) L·n + 1
    wrong = task.metrics(-20 * signs, batch)
    assert wrong["bit_errors_per_sequence"] == pytest.approx(9 * scored_steps.mean().item())
    assert task.loss(torch.zeros_like(signs), batch).item() == pytest.approx(math.log(2), rel=1e-6)


def test_an_early_end_marker_costs_bits():
    """Perfect bits, but the end marker raised one step early: one wrong bit at that step and one at the end."""
    task, batch = sample(1, min_length=3, max_length=3, min_repeats=2, max_repeats=2)
    signs = 2 * batch.targets[..., :9] - 1
    outputs = 20 * signs
    end = 3 + 2 + 6  # L + 2 + L·n
    outputs[end - 1, 0, 8], outputs[end, 0, 8] = 20.0, -20.0
    assert task.metrics(outputs, batch)["bit_errors_per_sequence"] == 2


# ---- settings -----------------------------------------------------------------------------------

def test_defaults_are_the_papers():
    assert RepeatCopyTask().config == RepeatCopyTask.Config(bits=8, min_length=1, max_length=10, min_repeats=1,
                                                            max_repeats=10, repeat_mean=5.5,
                                                            repeat_std=math.sqrt(8.25))


@pytest.mark.parametrize("field, value, message", [
    ("bits", 0, "bits must be an int >= 1"),
    ("min_length", 0, "min_length must be an int >= 1"),
    ("max_length", 0, "max_length must be an int >= 1 (min_length = 1)"),
    ("min_repeats", 0, "min_repeats must be an int >= 1"),
    ("max_repeats", 0.5, "max_repeats must be an int >= 1 (min_repeats = 1)"),
    ("repeat_mean", float("nan"), "repeat_mean must be a finite number"),
    ("repeat_mean", "5.5", "repeat_mean must be a finite number"),
    ("repeat_std", 0.0, "repeat_std must be a positive number"),
    ("repeat_std", -1, "repeat_std must be a positive number"),
])
def test_bad_settings_name_the_field_and_the_value(field, value, message):
    with pytest.raises(ValueError, match=re.escape(f"repeat_copy task: {message}") + r".*; got "
                       + re.escape(repr(value))):
        RepeatCopyTask(RepeatCopyTask.Config(**{field: value}))


def test_generalisation_settings():
    """Figure 8: twice the length, then twice the repeats."""
    task, batch = sample(4, min_length=20, max_length=20)
    check_layout(task, batch)
    task, batch = sample(4, max_repeats=20)
    check_layout(task, batch)
